//! Terminal colors for human output, decided once per run.

use std::io::IsTerminal;

use super::ColorChoice;

/// Whether to emit ANSI colors, and the few styles we use.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Resolves `--color` against the terminal and `NO_COLOR`.
    pub fn new(choice: ColorChoice) -> Self {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        Style { enabled }
    }

    /// Whether colors are on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Bold red, for errors.
    pub fn error(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    /// Bold yellow, for warnings.
    pub fn warning(&self, t: &str) -> String {
        self.paint("1;33", t)
    }
    /// Bold blue, for the gutter.
    pub fn gutter(&self, t: &str) -> String {
        self.paint("1;34", t)
    }
    /// Bold, for headlines.
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    /// Bold green, for success.
    pub fn ok(&self, t: &str) -> String {
        self.paint("1;32", t)
    }
    /// Cyan, for help.
    pub fn help(&self, t: &str) -> String {
        self.paint("36", t)
    }
}
