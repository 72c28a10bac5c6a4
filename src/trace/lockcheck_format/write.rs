//! The writer: one line per declaration or event, appended to the caller's
//! buffer.
//!
//! It runs inside the traced program, on every event: it appends bytes with
//! no formatting machinery and no allocation of its own.

use super::{
    op, put_name, put_site, put_u64, IdField, Word, CHANNEL_ID, CHILD_ID, CONDITION_ID, LOCK_ID,
    MESSAGE_ID, PARTIES, THREAD_ID, UPDATE, VAR_ID,
};
use crate::event::{Event, LockInfo, Site, ThreadId, VarInfo};

/// Appends the declaration line of a lock.
pub fn write_lock(out: &mut Vec<u8>, seq: u64, thread: ThreadId, lock: &LockInfo) {
    start(out, seq, thread, op::LOCK)
        .id(LOCK_ID, lock.id.0)
        .word(lock.kind)
        .site(&lock.created)
        .name(lock.name.as_deref())
        .end();
}

/// Appends the declaration line of a shared variable.
pub fn write_var(out: &mut Vec<u8>, seq: u64, thread: ThreadId, var: &VarInfo) {
    start(out, seq, thread, op::VAR)
        .id(VAR_ID, var.id.0)
        .site(&var.created)
        .name(var.name.as_deref())
        .end();
}

/// Appends the line of one event (every [`Event`] variant has one; the locks
/// and variables it names are written by id and must have been declared with
/// [`write_lock`] / [`write_var`] at a smaller `seq`).
///
/// The thread column is the event's own thread (the parent for
/// `Spawn`/`Join`); only `GuardedBy`, which has none, writes `thread` there.
pub fn write_event(out: &mut Vec<u8>, seq: u64, thread: ThreadId, event: &Event) {
    let line = match event {
        Event::Request {
            thread,
            lock,
            mode,
            site,
        } => start(out, seq, *thread, op::REQUEST)
            .id(LOCK_ID, lock.id.0)
            .word(*mode)
            .site(site),
        Event::Acquire {
            thread,
            lock,
            mode,
            attempt,
            site,
        } => start(out, seq, *thread, op::ACQUIRE)
            .id(LOCK_ID, lock.id.0)
            .word(*mode)
            .word(*attempt)
            .site(site),
        Event::Release { thread, lock, site } => start(out, seq, *thread, op::RELEASE)
            .id(LOCK_ID, lock.id.0)
            .site(site),
        Event::Read {
            thread,
            var,
            site,
            update,
        } => start(out, seq, *thread, op::READ)
            .id(VAR_ID, var.id.0)
            .site(site)
            .flag(*update, UPDATE),
        Event::Write {
            thread,
            var,
            site,
            update,
        } => start(out, seq, *thread, op::WRITE)
            .id(VAR_ID, var.id.0)
            .site(site)
            .flag(*update, UPDATE),
        Event::GuardedBy { var, lock } => start(out, seq, thread, op::GUARD)
            .id(VAR_ID, var.id.0)
            .id(LOCK_ID, lock.id.0),
        Event::Spawn {
            parent,
            child,
            site,
        } => start(out, seq, *parent, op::SPAWN)
            .id(CHILD_ID, child.0)
            .site(site),
        Event::Join {
            parent,
            child,
            site,
        } => start(out, seq, *parent, op::JOIN)
            .id(CHILD_ID, child.0)
            .site(site),
        Event::Wait {
            thread,
            lock,
            condition,
            site,
            timed,
        } => start(
            out,
            seq,
            *thread,
            if *timed { op::WAIT_TIMED } else { op::WAIT },
        )
        .id(CONDITION_ID, condition.0)
        .id(LOCK_ID, lock.id.0)
        .site(site),
        Event::Arrive {
            thread,
            barrier,
            parties,
            site,
        } => start(out, seq, *thread, op::ARRIVE)
            .id(CONDITION_ID, barrier.0)
            .id(PARTIES, *parties)
            .site(site),
        Event::RoomWait {
            thread,
            channel,
            site,
        } => start(out, seq, *thread, op::ROOM_WAIT)
            .id(CHANNEL_ID, channel.0)
            .site(site),
        Event::RoomMade {
            thread,
            channel,
            site,
        } => start(out, seq, *thread, op::ROOM)
            .id(CHANNEL_ID, channel.0)
            .site(site),
        Event::Yield { thread, site } => start(out, seq, *thread, op::YIELD).site(site),
        Event::Notify {
            thread,
            condition,
            site,
        } => start(out, seq, *thread, op::NOTIFY)
            .id(CONDITION_ID, condition.0)
            .site(site),
        Event::ChangeMode {
            thread,
            lock,
            from,
            to,
            site,
        } => start(out, seq, *thread, op::CHANGE_MODE)
            .id(LOCK_ID, lock.id.0)
            .word(*from)
            .word(*to)
            .site(site),
        Event::Send {
            thread,
            message,
            site,
        } => start(out, seq, *thread, op::SEND)
            .id(MESSAGE_ID, *message)
            .site(site),
        Event::Receive {
            thread,
            message,
            site,
            blocking,
        } => start(
            out,
            seq,
            *thread,
            if *blocking {
                op::RECEIVE
            } else {
                op::RECEIVE_TRY
            },
        )
        .id(MESSAGE_ID, *message)
        .site(site),
        Event::End { thread } => start(out, seq, *thread, op::END),
        Event::Incomplete => start(out, seq, thread, op::INCOMPLETE),
        Event::LockDropped { thread, lock } => {
            start(out, seq, *thread, op::DROP_LOCK).id(LOCK_ID, lock.id.0)
        }
        Event::VarDropped { thread, var } => {
            start(out, seq, *thread, op::DROP_VAR).id(VAR_ID, var.id.0)
        }
        Event::ThreadName { thread, name } => start(out, seq, *thread, op::THREAD).name(Some(name)),
    };
    line.end();
}

/// Starts a line, `<seq> T<thread> <op>`; its fields follow, each appended
/// with a leading space.
fn start<'a>(out: &'a mut Vec<u8>, seq: u64, thread: ThreadId, op: &[u8]) -> LineOut<'a> {
    put_u64(out, seq);
    out.extend_from_slice(&[b' ', THREAD_ID.prefix]);
    put_u64(out, thread.0);
    out.push(b' ');
    out.extend_from_slice(op);
    LineOut { out }
}

/// A line being appended to the caller's buffer, field by field.
struct LineOut<'a> {
    out: &'a mut Vec<u8>,
}

impl LineOut<'_> {
    /// ` <prefix><n>`, e.g. ` L12`.
    fn id(self, id: IdField, n: u64) -> Self {
        self.out.push(b' ');
        self.out.push(id.prefix);
        put_u64(self.out, n);
        self
    }

    /// ` <word>`, e.g. ` exclusive`.
    fn word(self, value: impl Word) -> Self {
        self.out.push(b' ');
        self.out.extend_from_slice(value.word().as_bytes());
        self
    }

    fn site(self, site: &Site) -> Self {
        put_site(self.out, site);
        self
    }

    fn name(self, name: Option<&str>) -> Self {
        put_name(self.out, name);
        self
    }

    /// ` <word>` if `set`, else nothing.
    fn flag(self, set: bool, word: &[u8]) -> Self {
        if set {
            self.out.push(b' ');
            self.out.extend_from_slice(word);
        }
        self
    }

    fn end(self) {
        self.out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lock, site};
    use super::*;
    use crate::event::{LockKind, VarId};

    #[test]
    fn the_thread_column_is_the_events_own_thread() {
        let mut out = Vec::new();
        let s = site("a.rs", 1, 1);
        let spawn = Event::Spawn {
            parent: ThreadId(4),
            child: ThreadId(5),
            site: s,
        };
        write_event(&mut out, 12, ThreadId(9), &spawn);
        assert_eq!(out, b"12 T4 spawn T5 a.rs:1:1\n");
        out.clear();
        let l = lock(1, LockKind::Mutex, None, "a.rs");
        let v = VarInfo {
            id: VarId(2),
            name: None,
            created: s,
        };
        write_event(
            &mut out,
            13,
            ThreadId(9),
            &Event::GuardedBy { var: v, lock: l },
        );
        assert_eq!(
            out, b"13 T9 guard V2 L1\n",
            "GuardedBy has no thread of its own"
        );
    }
}
