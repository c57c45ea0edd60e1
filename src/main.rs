//! The `modelspec` binary: everything lives in the library; see `modelspec::cli`.

fn main() {
    std::process::exit(modelspec::cli::main());
}
