#[pluggable_runtime::main(worker_threads = 2, worker_threads = 3)]
async fn main() {}
