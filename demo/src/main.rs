//! Placeholder: the demo issue fills this in.
fn main() {
    let rt = runtime_core::Runtime::<queue_flume::FlumeQueue>::new().expect("runtime");
    println!("{}", rt.block_on(rt.spawn(async { "hello from runtime-core" })));
}
