//! The `modelspec` binary: everything lives in the library; see `modelspec::cli`.

// mimalloc rather than the system allocator: reading a report is thousands of small
// allocations (a JSON tree, findings, strings), and `fleet` reads thousands of reports; glibc's
// malloc and free were a third of its time (BENCHMARKS.md). ripgrep does the same with jemalloc
// where the system allocator is slow.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(modelspec::cli::main());
}
