#[pluggable_runtime::main]
fn main() {}
