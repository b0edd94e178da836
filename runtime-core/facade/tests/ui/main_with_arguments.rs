#[pluggable_runtime::main]
async fn main(args: Vec<String>) {
    drop(args);
}
