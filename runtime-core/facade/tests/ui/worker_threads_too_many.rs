#[pluggable_runtime::main(worker_threads = 5000)]
async fn main() {}
