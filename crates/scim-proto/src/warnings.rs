//! Notes about ignored input (unknown attributes, readOnly targets ...) collected while a
//! request is read, for the provisioning log: deduplicated, in first-seen order, and capped
//! so that a body with thousands of unknown keys costs linear time and cannot flood the log.

use std::collections::HashSet;

/// At most this many warnings are kept for one request, then one "further warnings omitted".
pub const MAX_WARNINGS: usize = 50;

/// A capped, deduplicated list of warnings.
#[derive(Debug, Default, Clone)]
pub struct Warnings {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl Warnings {
    /// Adds a warning unless it was already given or the cap was reached (O(1)).
    pub fn push(&mut self, w: String) {
        if self.list.len() > MAX_WARNINGS || !self.seen.insert(w.clone()) {
            return;
        }
        if self.list.len() == MAX_WARNINGS {
            self.list.push("further warnings omitted".to_string());
        } else {
            self.list.push(w);
        }
    }

    /// The warnings, in first-seen order (at most `MAX_WARNINGS + 1` entries).
    pub fn into_vec(self) -> Vec<String> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deduplicated_and_capped() {
        let mut w = Warnings::default();
        w.push("a".into());
        w.push("a".into());
        for i in 0..10_000 {
            w.push(format!("w{i}"));
        }
        let v = w.into_vec();
        assert_eq!(v.len(), MAX_WARNINGS + 1);
        assert_eq!(v[0], "a");
        assert_eq!(v[MAX_WARNINGS], "further warnings omitted");
    }
}
