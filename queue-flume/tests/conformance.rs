//! The runtime-core conformance suite, run with [`queue_flume::FlumeQueue`].
runtime_core::queue_conformance!(queue_flume::FlumeQueue);
