//! Where each value of a spec document starts, by JSON pointer: the index a renderer needs to
//! point into the spec file (SARIF's regions) without reading files itself.
//!
//! It is built from the same node tree the typed spec comes from, so one YAML load gives both
//! ([`super::validate::located_documents`]). A collection is located by the key that holds it,
//! as validation diagnostics are ([`Node::anchor`]).

use std::collections::BTreeMap;

use super::node::{Node, Value, push_pointer};

/// Where a value starts in its spec file (1-based line and column, in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// 1-based line.
    pub start_line: u32,
    /// 1-based column, in characters.
    pub start_column: u32,
}

/// Each JSON pointer of one spec document and where its value starts.
pub type Regions = BTreeMap<String, Region>;

/// Every pointer of the document rooted at `root`, with where its value starts.
pub fn regions(root: &Node) -> Regions {
    let mut out = Regions::new();
    walk(root, None, &mut String::new(), &mut out);
    out
}

fn walk(node: &Node, owner_key: Option<&Node>, pointer: &mut String, out: &mut Regions) {
    let start = node.anchor(owner_key).start;
    out.insert(
        pointer.clone(),
        Region {
            start_line: start.line,
            start_column: start.column,
        },
    );
    let len = pointer.len();
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                push_pointer(pointer, &e.key.key_token());
                walk(&e.value, Some(&e.key), pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                push_pointer(pointer, &i.to_string());
                walk(item, None, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}
