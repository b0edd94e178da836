//! The runtime-core conformance suite, run with [`queue_crossbeam::CrossbeamQueue`].
runtime_core::queue_conformance!(queue_crossbeam::CrossbeamQueue);
