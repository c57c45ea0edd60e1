//! What the probe crates share, and nothing else: plain helpers with no knowledge of ModelSpec
//! or of any source of reality. It exists so that two probes do not each carry their own copy
//! of the same date arithmetic or the same reader of tagged enums; it must stay a leaf (no
//! dependencies on other crates of ours).

mod files;
mod library;
mod rfc3339;
pub mod tagged;

pub use files::open_regular_file;
pub use library::{LibraryChosenBy, library_to_load};
pub use rfc3339::{format_rfc3339_utc, unix_nanos};
