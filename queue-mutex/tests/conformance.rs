//! The runtime-core conformance suite, run with [`queue_mutex::MutexQueue`].
runtime_core::queue_conformance!(queue_mutex::MutexQueue);
