//! The pieces of the domain's work the CPU bench program (`aftercare-bench-cpu`) repeats, by the
//! names it takes on its command line, with the words `make bench` prints for each.

/// Each piece's name and what it is, in words.
pub const WORK: [(&str, &str); 6] = [
    ("decide-placed", "decide order event `placed`"),
    ("decide-shipped", "decide order event `shipped`"),
    ("decide-delivered", "decide order event `delivered`"),
    ("decide-review-request", "decide a due review request"),
    (
        "render-shipped",
        "frame and lay out the kept `shipped` email",
    ),
    (
        "render-review-request",
        "frame and lay out the kept review request",
    ),
];

/// The pieces' names, as the program takes them, joined by `separator`.
pub fn names(separator: &str) -> String {
    WORK.iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(separator)
}
