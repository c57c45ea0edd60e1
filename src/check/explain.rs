//! `modelspec explain CODE`: what a check compares, whether it is an equality or a bound, and
//! where the observed value comes from (per engine where engines differ).
//!
//! The text is each check's own [`super::Check::explanation`], written beside the function that
//! judges it, so a new check cannot ship without saying what it does.

/// The explanation of `code`, when it is a check code.
pub fn explain(code: &str) -> Option<&'static str> {
    super::check_of(code).map(|check| check.explanation)
}
