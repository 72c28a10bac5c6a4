//! A bounded channel's room as std's `sync_channel` counts it: at most
//! `bound` messages wait, a send with bound 0 needs a waiting receiver, a
//! full sender goes on when a message is taken and fails when the receiver
//! is gone. The room is an atomic count (src/sync/mpsc.rs, `Room`), so these
//! pin down what its lock used to guarantee. Threads are ordered by joins
//! and channels, never by sleeps: a sender that has not blocked yet by the
//! time the receiver acts sees the same outcome.

use lockcheck::sync::mpsc::{self, TrySendError};
use lockcheck::thread;

#[test]
fn at_most_bound_messages_wait() {
    let (tx, rx) = mpsc::sync_channel(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(rx.try_recv(), Ok(1));
    tx.try_send(3).unwrap();
    assert!(matches!(tx.try_send(4), Err(TrySendError::Full(4))));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.recv(), Ok(3));
    assert!(rx.try_recv().is_err());
    tx.try_send(4).unwrap();
    tx.try_send(5).unwrap();
    assert!(matches!(tx.try_send(6), Err(TrySendError::Full(6))));
}

#[test]
fn a_full_sender_goes_on_when_a_message_is_taken() {
    let (tx, rx) = mpsc::sync_channel(1);
    tx.send(0u32).unwrap();
    let sender = thread::spawn(move || {
        for n in 1..=100 {
            tx.send(n).unwrap(); // full each time until the receiver takes one
        }
    });
    let got: Vec<u32> = rx.iter().collect();
    sender.join().unwrap();
    assert_eq!(got, (0..=100).collect::<Vec<_>>());
}

#[test]
fn a_rendezvous_send_needs_a_waiting_receiver() {
    let (tx, rx) = mpsc::sync_channel::<u32>(0);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
    let receiver = thread::spawn(move || {
        let got: Vec<u32> = rx.iter().collect();
        got
    });
    for n in 0..50 {
        tx.send(n).unwrap(); // waits each time for the receiver to wait
    }
    drop(tx);
    assert_eq!(receiver.join().unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn many_senders_share_the_room() {
    let (tx, rx) = mpsc::sync_channel(1);
    let senders: Vec<_> = (0..4u32)
        .map(|s| {
            let tx = tx.clone();
            thread::spawn(move || {
                for n in 0..250 {
                    tx.send(s * 1000 + n).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut got: Vec<u32> = rx.iter().collect();
    for s in senders {
        s.join().unwrap();
    }
    got.sort_unstable();
    let want: Vec<u32> = (0..4)
        .flat_map(|s| (0..250).map(move |n| s * 1000 + n))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_full_sender_fails_when_the_receiver_is_gone() {
    let (tx, rx) = mpsc::sync_channel(1);
    tx.send(1u8).unwrap();
    let (about_to_send, told) = std::sync::mpsc::channel();
    let sender = thread::spawn(move || {
        about_to_send.send(()).unwrap();
        tx.send(2).map_err(|e| e.0) // full: waits until the receiver is dropped
    });
    told.recv().unwrap();
    drop(rx);
    assert_eq!(sender.join().unwrap(), Err(2));
    let (tx, rx) = mpsc::sync_channel::<u8>(0);
    drop(rx);
    assert!(matches!(tx.try_send(3), Err(TrySendError::Disconnected(3))));
    assert_eq!(tx.send(4).map_err(|e| e.0), Err(4));
}
