//! The `modelspec` binary: everything lives in the library; see `modelspec::cli`.

/// glibc's malloc, with mimalloc for `fleet`'s small blocks: see `modelspec::alloc`.
#[global_allocator]
static ALLOCATOR: modelspec::alloc::Allocator = modelspec::alloc::Allocator;

fn main() {
    std::process::exit(modelspec::cli::main());
}
