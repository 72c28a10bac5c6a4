//! A receive answers from the senders' count of messages and its own
//! (`src/sync/mpsc.rs`, `Receiver::try_take`): the try forms and the
//! disconnection must read as std's channel does.

use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::Duration;

use lockcheck::sync::mpsc;

#[test]
fn try_forms_see_every_send_and_then_the_disconnection() {
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    // A sender is left: empty, not disconnected.
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx2.send(3).unwrap();
    tx2.send(4).unwrap();
    drop(tx2);
    // What was sent before the last sender went is still there.
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert!(rx.recv().is_err());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn a_receiver_moved_to_another_thread_keeps_its_count() {
    let (tx, rx) = mpsc::channel();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    let rx = std::thread::spawn(move || {
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(3));
        rx
    })
    .join()
    .unwrap();
    drop(tx);
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![4]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_sync_sender_counts_its_messages_too() {
    let (tx, rx) = mpsc::sync_channel(2);
    tx.send(1).unwrap();
    tx.try_send(2).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}
