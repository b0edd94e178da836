struct NotAQueue;

#[pluggable_runtime::main(queue = NotAQueue)]
async fn main() {}
