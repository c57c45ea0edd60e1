//! Terminal colors for human output, decided once per run.

use std::io::IsTerminal;

use super::ColorChoice;

/// Whether to emit ANSI colors, and the few styles we use.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Resolves `--color` against the terminal and the environment: for `auto`, `NO_COLOR`
    /// (non-empty) turns colours off, then `CLICOLOR_FORCE` (non-empty, not `0`) turns them on
    /// even in a pipe, else a terminal that is not `TERM=dumb` has them.
    pub fn new(choice: ColorChoice) -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR") => false,
            ColorChoice::Auto
                if set("CLICOLOR_FORCE") && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") =>
            {
                true
            }
            ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb"),
        };
        Style { enabled }
    }

    /// The width of human output, in columns, decided apart from colour: the terminal's when
    /// standard output is one, else `COLUMNS` (a positive number), else `fallback`.
    pub fn width(fallback: u16) -> u16 {
        // comfy-table asks the terminal (and answers nothing when standard output is not one).
        let terminal = std::io::stdout()
            .is_terminal()
            .then(|| comfy_table::Table::new().width())
            .flatten();
        terminal
            .or_else(|| {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.trim().parse::<u16>().ok())
                    .filter(|&c| c > 0)
            })
            .unwrap_or(fallback)
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
