//! Task ids: unique, cheap, visible from the handle, inside the task and in
//! `Debug`, on every backend.
#![cfg(not(loom))]

use std::collections::HashSet;

use runtime_core::{
    Queue, Runtime, TaskId, task_id,
    testing::{size, within},
};

mod common;

common::per_backend!(ids_are_unique_and_match_inside_the_task, ids_show_in_debug_and_display);

fn ids_are_unique_and_match_inside_the_task<Q: Queue>() {
    within(30, "task ids", || {
        let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
        let per_spawner = size(2_000, 40);
        assert_eq!(task_id(), None, "no task outside the runtime");
        // Spawned from two outside threads and from inside tasks.
        let outside: Vec<_> = std::thread::scope(|s| {
            let spawners: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| (0..per_spawner).map(|_| rt.spawn(async { task_id() })).collect::<Vec<_>>())
                })
                .collect();
            spawners.into_iter().flat_map(|t| t.join().unwrap()).collect()
        });
        let inside = rt.block_on(rt.spawn(async move {
            let tasks: Vec<_> = (0..per_spawner).map(|_| runtime_core::spawn(async { task_id() })).collect();
            let mut ids = Vec::new();
            for task in tasks {
                let id = task.id();
                assert_eq!(task.await, Some(id), "task_id() inside is Task::id()");
                ids.push(id);
            }
            ids
        }));
        let mut seen: HashSet<TaskId> = inside.into_iter().collect();
        for task in outside {
            let id = task.id();
            assert_eq!(rt.block_on(task), Some(id));
            assert!(seen.insert(id), "{id:?} handed out twice");
        }
        assert_eq!(seen.len(), 3 * per_spawner);
        assert_eq!(rt.block_on(async { task_id() }), None, "block_on's own future is not a task");
    });
}

fn ids_show_in_debug_and_display<Q: Queue>() {
    within(20, "task ids in Debug", || {
        let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
        let task = rt.spawn(std::future::pending::<()>());
        let id = task.id();
        assert!(format!("{task:?}").contains(&format!("{id:?}")), "{task:?}");
        assert_eq!(format!("{id:?}"), format!("TaskId({id})"));
        assert_eq!(id.to_string(), id.as_u64().to_string());
        let fallible = task.fallible();
        assert_eq!(fallible.id(), id);
        assert!(format!("{fallible:?}").contains(&format!("{id:?}")));
    });
}
