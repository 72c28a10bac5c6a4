//! The library writes its report file by hand (no serde in a user's build);
//! the command reads it back with serde. Each finding the library encodes
//! must decode, through serde, into the finding it was: for the findings
//! the live detectors make of every kind, and for a finding with every
//! optional field filled and names that need escaping.

use lockcheck::config::{self, Policy};
use lockcheck::event::{AccessKind, AcquireMode, LockKind};
use lockcheck::finding::{
    announcement_line, to_json_line, AccessNote, Announcement, BlockedThread, CycleDetail, Frame,
    HeldRef, LockRef, OrderEdge, SiteNote, SourceLocation, ThreadRef, ThreadWait, VarRef, WaitNote,
    WaitOn, WaitOnKind,
};
use lockcheck::{Finding, FindingKind, Mutex, ReentrantMutex, RwLock, Shared};

fn decoded(f: &Finding) -> Finding {
    let line = to_json_line(f);
    assert!(!line.contains('\n'), "one line: {line}");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn at(file: &str, line: u32) -> SourceLocation {
    SourceLocation {
        file: file.to_owned(),
        line,
        column: 7,
    }
}

fn lock(id: u64, kind: LockKind, name: Option<&str>) -> LockRef {
    LockRef {
        id,
        kind,
        name: name.map(str::to_owned),
        created: at("src/lib.rs", 3),
    }
}

/// Every field of every type set, every enum variant used, names with
/// quotes, backslashes, control characters and non-ASCII text.
fn everything() -> Finding {
    let odd = "quote \" backslash \\ tab \t nul \u{0} bell \u{7} é 名 🦀";
    let thread = ThreadRef {
        id: 3,
        name: Some(odd.to_owned()),
        task: false,
    };
    // Unnamed, and a task: the flag round-trips too.
    let unnamed = ThreadRef {
        id: 4,
        name: None,
        task: true,
    };
    let frames = vec![
        Frame {
            function: "app::transfer".into(),
            location: Some(at("src/bank.rs", 21)),
        },
        Frame {
            function: "<closure>".into(),
            location: None,
        },
    ];
    let kinds = [LockKind::Mutex, LockKind::RwLock, LockKind::ReentrantMutex];
    let modes = [
        AcquireMode::Exclusive,
        AcquireMode::Read,
        AcquireMode::RecursiveRead,
        AcquireMode::Upgradable,
    ];
    let held: Vec<HeldRef> = kinds
        .iter()
        .zip(modes)
        .enumerate()
        .map(|(i, (kind, mode))| HeldRef {
            lock: lock(i as u64, *kind, Some(odd)),
            mode,
            site: at(odd, 10 + i as u32),
        })
        .collect();
    let mut f = Finding::new(FindingKind::Deadlock, odd.into(), format!("key {odd}"));
    f.count = u64::MAX;
    f.threads = vec![thread.clone(), unnamed.clone()];
    f.locks = vec![
        lock(1, LockKind::Mutex, None),
        lock(2, LockKind::RwLock, Some("b")),
    ];
    f.waits = vec![ThreadWait {
        thread: thread.clone(),
        holds: held.clone(),
        waits_for: lock(2, LockKind::RwLock, Some("b")),
        mode: AcquireMode::Upgradable,
        site: at("src/main.rs", 40),
        backtrace: frames.clone(),
    }];
    // Every kind of wait, named and not, with a creation site and without.
    f.blocked = [
        WaitOnKind::Lock,
        WaitOnKind::Condvar,
        WaitOnKind::Receive,
        WaitOnKind::Send,
        WaitOnKind::Join,
        WaitOnKind::Barrier,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, kind)| BlockedThread {
        thread: if i % 2 == 0 {
            thread.clone()
        } else {
            unnamed.clone()
        },
        holds: if i % 2 == 0 { held.clone() } else { Vec::new() },
        waits_on: WaitOn {
            kind,
            id: i as u64 + 10,
            name: (i % 2 == 0).then(|| odd.to_owned()),
            created: (kind != WaitOnKind::Join).then(|| at("src/w.rs", i as u32)),
        },
        site: at("src/main.rs", 50 + i as u32),
        backtrace: if i == 0 { frames.clone() } else { Vec::new() },
    })
    .collect();
    f.cycle = Some(CycleDetail {
        edges: vec![OrderEdge {
            from: lock(1, LockKind::Mutex, None),
            to: lock(2, LockKind::ReentrantMutex, Some("b")),
            from_site: at("src/a.rs", 1),
            to_site: at("src/a.rs", 2),
            held_mode: AcquireMode::RecursiveRead,
            acquire_mode: AcquireMode::Exclusive,
            thread: unnamed.clone(),
            backtrace: frames.clone(),
            wait: Some(WaitNote {
                by: lockcheck::event::WokenBy::Message,
                on: 12,
                released: Some(lock(3, LockKind::Mutex, Some(odd))),
                wait_site: at("src/a.rs", 5),
                waker: thread.clone(),
                wake_site: at("src/a.rs", 6),
            }),
        }],
        other_cycles: vec![vec![OrderEdge {
            from: lock(7, LockKind::RwLock, Some("c")),
            to: lock(8, LockKind::Mutex, None),
            from_site: at("src/a.rs", 3),
            to_site: at("src/a.rs", 4),
            held_mode: AcquireMode::Read,
            acquire_mode: AcquireMode::Upgradable,
            thread: thread.clone(),
            backtrace: Vec::new(),
            wait: None,
        }]],
        guarded_by: Some(lock(9, LockKind::Mutex, Some("gate"))),
        single_thread: true,
        ordered_by_happens_before: true,
    });
    f.variable = Some(VarRef {
        id: 5,
        name: Some(odd.into()),
        created: at("src/v.rs", 5),
    });
    f.accesses = vec![
        AccessNote {
            thread: thread.clone(),
            kind: AccessKind::Write,
            site: at("src/v.rs", 6),
            held,
            in_update: true,
            backtrace: frames,
        },
        AccessNote {
            thread: unnamed.clone(),
            kind: AccessKind::Read,
            site: at("src/v.rs", 7),
            held: Vec::new(),
            in_update: false,
            backtrace: Vec::new(),
        },
    ];
    f.events = vec![SiteNote {
        label: "acquired".into(),
        site: at("src/e.rs", 8),
        thread: unnamed,
    }];
    f.notes = vec![odd.into(), String::new()];
    f.suppressed = Some("known, see #12".into());
    f
}

#[test]
fn a_finding_with_every_field_set_decodes_into_itself() {
    let f = everything();
    assert_eq!(decoded(&f), f);
}

#[test]
fn a_finding_with_nothing_optional_decodes_into_itself() {
    for kind in FindingKind::ALL {
        let f = Finding::new(kind, String::new(), String::new());
        assert_eq!(decoded(&f), f);
    }
}

#[test]
fn the_encoding_decodes_into_what_serde_itself_writes() {
    let f = everything();
    let by_serde: Finding = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
    assert_eq!(decoded(&f), by_serde);
}

#[test]
fn the_announcement_line_decodes_under_its_key() {
    let a = Announcement {
        pid: 4242,
        version: "0.1.0".into(),
    };
    let line = announcement_line(&a);
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    let back: Announcement =
        serde_json::from_value(value[lockcheck::finding::ANNOUNCEMENT_KEY].clone()).unwrap();
    assert_eq!(back, a);
}

/// Findings the live detectors make, one of each kind they report in one
/// process: each decodes into itself.
#[test]
fn live_findings_of_every_kind_decode_into_themselves() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(true);
    let a = Mutex::named("report_lines.a", ());
    let b = RwLock::named("report_lines.b", ());
    {
        let _a = a.lock();
        let _b = b.write();
    }
    {
        let _b = b.read();
        let _a = a.lock();
    }
    let r = ReentrantMutex::named("report_lines.r", ());
    let _r1 = r.lock();
    let _r2 = r.lock();
    drop((_r2, _r1));
    let m = Mutex::named("report_lines.m", ());
    let g = m.lock();
    let _again = m.try_lock();
    drop(g);
    let _self_deadlock = std::panic::catch_unwind(|| {
        let m = Mutex::named("report_lines.self", ());
        let _g = m.lock();
        let _h = m.lock();
    });
    // A race lockcheck must see: the child's write reaches main through a
    // std channel, which lockcheck does not count as ordering them.
    let n = std::sync::Arc::new(Shared::named("report_lines.n", 0u32));
    let n2 = n.clone();
    let (done, wait) = std::sync::mpsc::channel();
    let child = lockcheck::thread::spawn(move || {
        n2.set(1);
        done.send(()).unwrap();
    });
    wait.recv().unwrap();
    n.set(2);
    child.join().unwrap();

    let mine: Vec<Finding> = lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .filter_map(|l| l.name.as_deref())
                .chain(f.variable.iter().filter_map(|v| v.name.as_deref()))
                .any(|n| n.starts_with("report_lines."))
        })
        .collect();
    let kinds: Vec<FindingKind> = mine.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FindingKind::LockOrderCycle), "{kinds:?}");
    assert!(kinds.contains(&FindingKind::SelfDeadlock), "{kinds:?}");
    assert!(kinds.contains(&FindingKind::DataRace), "{kinds:?}");
    for f in &mine {
        assert_eq!(&decoded(f), f);
    }
}
