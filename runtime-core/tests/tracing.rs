//! Feature `tracing`: a task's events are inside its span, which carries its
//! `TaskId` and spawn location (a `spawn_blocking` closure's too); a stall
//! and a panic nobody awaits are `tracing` events. A hand-written
//! subscriber, installed once for the whole binary, records everything;
//! each test looks only at the records of its own tasks.
#![cfg(all(feature = "tracing", not(loom)))]

use std::{
    cell::RefCell,
    collections::HashMap,
    fmt,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use queue_flume::FlumeQueue;
use runtime_core::{PanicPolicy, Runtime, testing::wait_until};
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};

/// A span as the subscriber saw it made.
#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    target: String,
    fields: HashMap<String, String>,
}

/// An event, with the span it was emitted in.
#[derive(Debug, Clone)]
struct EventRecord {
    target: String,
    level: tracing::Level,
    fields: HashMap<String, String>,
    span: Option<u64>,
}

#[derive(Default)]
struct Records {
    spans: HashMap<u64, SpanRecord>,
    events: Vec<EventRecord>,
}

/// Records every span and event; keeps each thread's stack of entered spans.
struct Recorder {
    next: AtomicU64,
    records: Mutex<Records>,
}

thread_local! {
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut fields = HashMap::new();
        span.record(&mut Fields(&mut fields));
        let record =
            SpanRecord { name: span.metadata().name(), target: span.metadata().target().to_owned(), fields };
        self.records.lock().unwrap().spans.insert(id, record);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(record) = self.records.lock().unwrap().spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut record.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ENTERED.with(|entered| entered.borrow().last().copied());
        let record = EventRecord {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
            span,
        };
        self.records.lock().unwrap().events.push(record);
    }
    fn enter(&self, span: &Id) {
        ENTERED.with(|entered| entered.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &Id) {
        ENTERED.with(|entered| {
            let mut entered = entered.borrow_mut();
            if let Some(at) = entered.iter().rposition(|&id| id == span.into_u64()) {
                entered.remove(at);
            }
        });
    }
}

/// The binary's one subscriber (workers are threads of their own, so a
/// thread-local default would not see them).
fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<&'static Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static Recorder = Box::leak(Box::new(Recorder {
            next: AtomicU64::new(1),
            records: Mutex::new(Records::default()),
        }));
        tracing::subscriber::set_global_default(Forward(recorder))
            .expect("no other subscriber in this binary");
        recorder
    })
}

/// The `Subscriber` handed to tracing: forwards to the leaked recorder.
struct Forward(&'static Recorder);

impl Subscriber for Forward {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.0.new_span(span)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        self.0.record(span, values)
    }
    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.0.record_follows_from(span, follows)
    }
    fn event(&self, event: &Event<'_>) {
        self.0.event(event)
    }
    fn enter(&self, span: &Id) {
        self.0.enter(span)
    }
    fn exit(&self, span: &Id) {
        self.0.exit(span)
    }
}

/// The span of the event whose `marker` field is `marker`.
fn span_of_event(marker: &str) -> SpanRecord {
    let records = recorder().records.lock().unwrap();
    let event = records
        .events
        .iter()
        .find(|e| e.fields.get("marker").map(String::as_str) == Some(marker))
        .unwrap_or_else(|| panic!("no event with marker {marker}"));
    let span = event.span.unwrap_or_else(|| panic!("event {marker} was emitted outside any span"));
    records.spans[&span].clone()
}

#[test]
fn a_tasks_events_are_inside_its_span_with_id_and_spawn_location() {
    recorder();
    let rt = Runtime::<FlumeQueue>::builder().worker_threads(2).build().unwrap();
    let line = line!() + 1;
    let task = rt.spawn(async { tracing::info!(marker = "in-task", "hello from a task") });
    let id = task.id();
    rt.block_on(task);
    let span = span_of_event("in-task");
    assert_eq!((span.name, span.target.as_str()), ("task", "runtime_core::task"));
    assert_eq!(span.fields["task.id"], id.as_u64().to_string());
    let spawned_at = &span.fields["spawned_at"];
    assert!(spawned_at.starts_with(&format!("{}:{line}:", file!())), "spawned_at = {spawned_at}");

    // Spawned from inside a task: a span of its own, not a child's.
    let task = rt.spawn(async {
        runtime_core::spawn(async { tracing::info!(marker = "nested", "hello from a child") }).await;
    });
    rt.block_on(task);
    let nested = span_of_event("nested");
    assert_ne!(nested.fields["task.id"], id.as_u64().to_string());

    // A blocking closure runs inside its span too.
    let task = rt.spawn_blocking(|| tracing::info!(marker = "blocking", "hello from the pool"));
    let id = task.id();
    rt.block_on(task);
    assert_eq!(span_of_event("blocking").fields["task.id"], id.as_u64().to_string());
}

#[test]
fn a_stall_is_a_warning_event() {
    recorder();
    let rt = Runtime::<FlumeQueue>::builder()
        .worker_threads(1)
        .stall_threshold(Some(Duration::from_millis(10)))
        .track_spawn_locations(true)
        .build()
        .unwrap();
    let task = rt.spawn(async { std::thread::sleep(Duration::from_millis(200)) });
    let id = task.id().as_u64().to_string();
    rt.block_on(task);
    let stall = || {
        let records = recorder().records.lock().unwrap();
        records
            .events
            .iter()
            .find(|e| e.target == "runtime_core::stall" && e.fields.get("task.id") == Some(&id))
            .cloned()
    };
    wait_until("the stall event", || stall().is_some());
    let event = stall().unwrap();
    assert_eq!(event.level, tracing::Level::WARN);
    assert!(event.fields["spawned_at"].contains(file!()), "{event:?}");
    let stalled_for: f64 = event.fields["stalled_for_ms"].parse().unwrap();
    assert!(stalled_for >= 10.0, "{event:?}");
}

#[test]
fn a_panic_nobody_awaits_is_an_error_event() {
    recorder();
    let rt = Runtime::<FlumeQueue>::builder()
        .worker_threads(1)
        .on_task_panic(PanicPolicy::Ignore)
        .build()
        .unwrap();
    let task = rt.spawn(async { panic!("nobody awaits this one") });
    let id = task.id().as_u64().to_string();
    task.detach();
    let panic = || {
        let records = recorder().records.lock().unwrap();
        records
            .events
            .iter()
            .find(|e| e.target == "runtime_core::panic" && e.fields.get("task.id") == Some(&id))
            .cloned()
    };
    wait_until("the panic event", || panic().is_some());
    let event = panic().unwrap();
    assert_eq!(event.level, tracing::Level::ERROR);
    assert_eq!(event.fields["panic"], "nobody awaits this one");
    assert_eq!(event.fields["policy"], "Ignore");
}
