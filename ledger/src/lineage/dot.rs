//! A Graphviz DOT rendering of a lineage answer: events as nodes, the
//! answer's edges as arrows.
//!
//! Spec: `spec/lineage.md` §8.

use super::answer::{Answer, EdgeKind};
use super::fsma::format_time;
use std::fmt::Write as _;

/// Objects listed in a node's label before "… and N more".
const MAX_LABEL_OBJECTS: usize = 4;

/// The answer as a `digraph`.
pub fn to_dot(answer: &Answer) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph lineage {{");
    let _ = writeln!(
        out,
        "  label=\"{} {}\"; labelloc=t; rankdir=LR;",
        answer.direction,
        escape(&answer.identifier)
    );
    let _ = writeln!(out, "  node [shape=box, fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];");
    for e in &answer.events {
        let s = &e.summary;
        let mut label = format!("#{} {}", e.index, s.event_type.as_str());
        if let Some(a) = s.action {
            let _ = write!(label, " {}", a.as_str());
        }
        if let Some(step) = &s.biz_step {
            let _ = write!(label, " {step}");
        }
        let _ = write!(label, "\n{}\n{}", format_time(s.event_time_ms, 0), s.issuer);
        for o in s.objects.iter().take(MAX_LABEL_OBJECTS) {
            let _ = write!(label, "\n{}: {}", o.role.as_str(), o.id);
            if let Some(q) = o.quantity {
                let _ =
                    write!(label, " {q}{}", o.uom.as_deref().map(|u| format!(" {u}")).unwrap_or_default());
            }
        }
        if s.objects.len() > MAX_LABEL_OBJECTS {
            let _ = write!(label, "\n… and {} more", s.objects.len() - MAX_LABEL_OBJECTS);
        }
        let mut style = Vec::new();
        if e.declared_by.is_some() {
            style.push("dashed");
        }
        if e.reached_by.iter().any(|r| r.identifier == answer.identifier) {
            style.push("bold");
        }
        if s.recall {
            style.push("filled");
        }
        let _ = write!(out, "  e{} [label=\"{}\"", e.index, escape(&label));
        if !style.is_empty() {
            let _ = write!(out, ", style=\"{}\"", style.join(","));
        }
        if s.recall {
            let _ = write!(out, ", fillcolor=\"mistyrose\"");
        }
        let _ = writeln!(out, "];");
    }
    for edge in &answer.edges {
        let mut label = edge.identifier.clone();
        if let Some(c) = &edge.container {
            let _ = write!(label, "\nvia {c}");
        }
        let attrs = match edge.kind {
            EdgeKind::Object => "",
            EdgeKind::Container => ", style=dashed",
            EdgeKind::Custody => ", color=blue",
            EdgeKind::Transformation => ", style=bold",
        };
        let _ = writeln!(out, "  e{} -> e{} [label=\"{}\"{attrs}];", edge.from, edge.to, escape(&label));
    }
    out.push_str("}\n");
    out
}

/// A string for a DOT double-quoted ID: `"` and `\` escaped, line breaks
/// as `\n`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
