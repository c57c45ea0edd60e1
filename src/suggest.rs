//! "Did you mean ...?": the closest known spelling to a mistyped one.
//!
//! Used for unknown schema fields, GPU types and CLI values alike, so every suggestion in the
//! tool follows the same rule of how close is close enough.

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), over chars.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut rows = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[n][m]
}

/// The candidate closest to `given` (case-insensitively), if it is close enough to be a typo:
/// at most a third of the longer word's length, and at least 1 edit allowed.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Long inputs would make the quadratic distance costly and are never typos of short names.
    if given.chars().count() > 64 {
        return None;
    }
    let lower = given.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = distance(&lower, &c.to_lowercase());
        let allowed = (lower.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= allowed && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("h100", "h010"), 1);
        // Restricted transpositions: no edit after a swap.
        assert_eq!(distance("ca", "abc"), 3);
        assert_eq!(distance("a100-80gbb", "a100-80gb"), 1);
    }

    #[test]
    fn suggestions_are_only_for_near_misses() {
        let fields = ["minReplicas", "maxReplicas", "strategy"];
        assert_eq!(closest("maxReplica", fields), Some("maxReplicas"));
        assert_eq!(closest("MAXREPLICAS", fields), Some("maxReplicas"));
        assert_eq!(closest("gpu", fields), None);
        assert_eq!(closest(&"x".repeat(200), fields), None);
    }
}
