//! Mail header fields written by hand, to the letter of RFC 5322 and RFC 2047.
//!
//! - A display name of printable ASCII is written as it is when it is a row of atoms, and as a
//!   quoted string (with `"` and `\` escaped) when it holds specials such as `.`, `,` or `"`.
//! - A display name or subject with anything else in it (Cyrillic, Arabic, emoji…) becomes
//!   UTF-8 encoded-words (`=?utf-8?B?…?=`), never inside quotes (RFC 2047 §5(3)), each at most
//!   75 characters and cut only between characters, so every line holding one stays within the
//!   76 characters RFC 2047 §2 allows. Text that merely looks like an encoded-word (`=?`) is
//!   encoded as well, so no reader decodes what the shop wrote literally.
//! - Lines are folded before a space, at [`LINE_LIMIT`] characters where the text allows it;
//!   unfolding gives back exactly what was written.
//!
//! Names and subjects reach this module as single-line text (the domain refuses control
//! characters), so no header can be split or injected.

use base64::Engine as _;

/// The longest line this module writes where it has a choice (RFC 2047 §2 sets 76 for lines
/// with encoded-words; RFC 5322 recommends 78 for all).
pub const LINE_LIMIT: usize = 76;

/// The longest encoded-word RFC 2047 §2 allows.
pub const ENCODED_WORD_LIMIT: usize = 75;

/// An ASCII word longer than this is encoded rather than left on an overlong line.
const LONGEST_PLAIN_WORD: usize = 60;

const ENCODED_WORD_OVERHEAD: usize = "=?utf-8?B??=".len();

/// One header field being written: `Name: value`, folded as it grows.
struct Field {
    out: String,
    line: usize,
    words: usize,
}

impl Field {
    fn new(name: &str) -> Self {
        let out = format!("{name}:");
        let line = out.len();
        Self {
            out,
            line,
            words: 0,
        }
    }

    /// Adds `word` after a space, folding first when the line would pass [`LINE_LIMIT`]. The
    /// first word always goes on the field name's line.
    fn word(&mut self, word: &str) {
        if self.words > 0 && self.line + 1 + word.len() > LINE_LIMIT {
            self.out.push_str("\r\n");
            self.line = 0;
        }
        self.out.push(' ');
        self.out.push_str(word);
        self.line += 1 + word.len();
        self.words += 1;
    }

    fn finish(mut self) -> String {
        self.out.push_str("\r\n");
        self.out
    }
}

/// `Name: value` for an unstructured field (`Subject`), folded, ending in CRLF.
pub fn unstructured(name: &str, text: &str) -> String {
    let mut field = Field::new(name);
    for word in unstructured_words(text, name.len() + 2) {
        field.word(&word);
    }
    field.finish()
}

/// `Name: value` for a field whose value is already in its wire form (printable ASCII: a
/// message id, `<url>, <mailto>` lists), folded before spaces but never encoded, ending in
/// CRLF. Anything outside printable ASCII is dropped: such a value is a bug, not text.
pub fn verbatim(name: &str, value: &str) -> String {
    let value: String = value.chars().filter(|c| (' '..='~').contains(c)).collect();
    let mut field = Field::new(name);
    for word in plain_words(&value) {
        field.word(&word);
    }
    field.finish()
}

/// `Name: display name <address>` for a single mailbox (`From`, `To`), folded, ending in CRLF.
/// `address` must already be a valid address (the domain's `EmailAddress`).
pub fn mailbox(name: &str, display_name: Option<&str>, address: &str) -> String {
    let mut field = Field::new(name);
    if let Some(display) = display_name.filter(|d| !d.trim().is_empty()) {
        for word in phrase_words(display, name.len() + 2) {
            field.word(&word);
        }
    }
    field.word(&format!("<{address}>"));
    field.finish()
}

/// `display name <address>` on one line, as an API parameter takes it (SES's
/// `FromEmailAddress`): the same encoding as [`mailbox`], without folding.
pub fn mailbox_unfolded(display_name: Option<&str>, address: &str) -> String {
    match display_name.filter(|d| !d.trim().is_empty()) {
        Some(display) => format!("{} <{address}>", phrase_words(display, 0).join(" ")),
        None => address.to_owned(),
    }
}

/// The words of an unstructured text: as they are when the text is plain ASCII, encoded-words
/// otherwise. `column` is where the first word starts on its line.
fn unstructured_words(text: &str, column: usize) -> Vec<String> {
    if needs_encoding(text) {
        return encoded_words(text, column);
    }
    plain_words(text)
}

/// Printable ASCII cut into words before each space, for folding.
fn plain_words(text: &str) -> Vec<String> {
    // Folding inserts CRLF before a space and unfolding removes it: the words are the text cut
    // before each space, so repeated spaces survive too.
    let mut words: Vec<String> = Vec::new();
    for part in text.split(' ') {
        match words.last_mut() {
            // An empty part is a second space in a row: it stays with the word before it,
            // so no line is ever made of white space alone.
            Some(last) if part.is_empty() => {
                last.push(' ');
                last.push_str(part);
            }
            _ => words.push(part.to_owned()),
        }
    }
    words
}

/// The words of a display name: atoms, one quoted string, or encoded-words.
fn phrase_words(name: &str, column: usize) -> Vec<String> {
    if needs_encoding(name) {
        return encoded_words(name, column);
    }
    let atoms: Vec<&str> = name.split(' ').collect();
    if atoms
        .iter()
        .all(|a| !a.is_empty() && a.chars().all(is_atext))
    {
        return atoms.into_iter().map(str::to_owned).collect();
    }
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    if too_long_for_a_line(&escaped) {
        // Escaping made a word too long for a line: encoded-words can be cut, quotes cannot.
        return encoded_words(name, column);
    }
    let mut words = plain_words(&escaped);
    if let Some(first) = words.first_mut() {
        first.insert(0, '"');
    }
    if let Some(last) = words.last_mut() {
        last.push('"');
    }
    words
}

/// Whether text must be written as encoded-words: anything but printable ASCII, something a
/// reader would take for an encoded-word, or a word too long to fit a line.
fn needs_encoding(text: &str) -> bool {
    text.chars().any(|c| !(' '..='~').contains(&c))
        || text.contains("=?")
        || too_long_for_a_line(text)
}

/// Whether a word that folding cannot cut (it holds no space, or only runs of them) is too
/// long for a line.
fn too_long_for_a_line(text: &str) -> bool {
    plain_words(text)
        .iter()
        .any(|w| w.len() > LONGEST_PLAIN_WORD)
}

/// `atext` of RFC 5322 §3.2.3: what an atom may hold without quotes.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// `text` as UTF-8 `B` encoded-words, each cut between characters and at most
/// [`ENCODED_WORD_LIMIT`] long; the first also fits the line after `column`.
fn encoded_words(text: &str, column: usize) -> Vec<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let encoded_len = |bytes: usize| ENCODED_WORD_OVERHEAD + bytes.div_ceil(3) * 4;
    let mut words = Vec::new();
    let mut limit = ENCODED_WORD_LIMIT.min(LINE_LIMIT.saturating_sub(column + 1));
    let mut start = 0;
    let mut end = 0;
    for (index, c) in text.char_indices() {
        let next = index + c.len_utf8();
        if encoded_len(next - start) > limit && end > start {
            words.push(format!("=?utf-8?B?{}?=", engine.encode(&text[start..end])));
            start = end;
            limit = ENCODED_WORD_LIMIT;
        }
        end = next;
    }
    if end > start {
        words.push(format!("=?utf-8?B?{}?=", engine.encode(&text[start..end])));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(field: &str) -> Vec<&str> {
        field.trim_end_matches("\r\n").split("\r\n").collect()
    }

    fn decode(word: &str) -> String {
        let payload = word
            .strip_prefix("=?utf-8?B?")
            .and_then(|w| w.strip_suffix("?="))
            .expect("an encoded-word");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap();
        String::from_utf8(bytes).expect("each word holds whole characters")
    }

    #[test]
    fn a_plain_name_stays_readable_and_a_name_with_specials_is_quoted() {
        assert_eq!(
            mailbox("To", Some("Emily Carter"), "e@example.com"),
            "To: Emily Carter <e@example.com>\r\n"
        );
        assert_eq!(
            mailbox("To", Some(r#"Carter, Emily "Em" \o/"#), "e@example.com"),
            "To: \"Carter, Emily \\\"Em\\\" \\\\o/\" <e@example.com>\r\n"
        );
        assert_eq!(
            mailbox("To", None, "e@example.com"),
            "To: <e@example.com>\r\n"
        );
    }

    #[test]
    fn a_cyrillic_name_becomes_encoded_words_outside_any_quotes() {
        let field = mailbox("To", Some("Анна Петрова"), "anna@example.ru");
        assert!(field.starts_with("To: =?utf-8?B?"), "{field}");
        assert!(!field.contains('"'), "{field}");
        let words: Vec<&str> = field
            .split_whitespace()
            .filter(|w| w.starts_with("=?"))
            .collect();
        let decoded: String = words.iter().map(|w| decode(w)).collect();
        assert_eq!(decoded, "Анна Петрова");
    }

    #[test]
    fn a_long_name_is_cut_between_characters_into_short_words_on_short_lines() {
        let name = "Ёжик 🦔 в тумане ".repeat(20);
        let name = name.trim();
        let field = mailbox("To", Some(name), "hedgehog@example.ru");
        for line in lines(&field) {
            assert!(line.len() <= LINE_LIMIT, "{} chars: {line}", line.len());
        }
        let words: Vec<&str> = field
            .split_whitespace()
            .filter(|w| w.starts_with("=?"))
            .collect();
        assert!(words.len() > 5);
        assert!(words.iter().all(|w| w.len() <= ENCODED_WORD_LIMIT));
        assert_eq!(words.iter().map(|w| decode(w)).collect::<String>(), name);
    }

    #[test]
    fn a_long_subject_folds_before_spaces_and_unfolds_to_itself() {
        let subject = "Your order 1042 from Leaf & Kettle is on its way with UPS and should arrive on Thursday, 26 November";
        let field = unstructured("Subject", subject);
        assert!(lines(&field).len() > 1);
        assert!(lines(&field).iter().all(|l| l.len() <= LINE_LIMIT));
        let unfolded = field.trim_end_matches("\r\n").replace("\r\n", "");
        assert_eq!(unfolded, format!("Subject: {subject}"));
    }

    #[test]
    fn repeated_spaces_survive_folding_and_no_line_is_blank() {
        let subject = format!("{}  {}", "word ".repeat(20).trim(), "end");
        let field = unstructured("Subject", &subject);
        let unfolded = field.trim_end_matches("\r\n").replace("\r\n", "");
        assert_eq!(unfolded, format!("Subject: {subject}"));
        assert!(lines(&field).iter().all(|l| !l.trim().is_empty()));
    }

    #[test]
    fn a_run_of_spaces_is_no_place_to_fold_so_it_is_encoded_rather_than_overlong() {
        let subject = format!("a{}b", " ".repeat(80));
        let field = unstructured("Subject", &subject);
        assert!(
            lines(&field).iter().all(|l| l.len() <= LINE_LIMIT),
            "{field}"
        );
        let words: Vec<&str> = field
            .split_whitespace()
            .filter(|w| w.starts_with("=?"))
            .collect();
        assert_eq!(words.iter().map(|w| decode(w)).collect::<String>(), subject);
    }

    #[test]
    fn text_that_looks_like_an_encoded_word_is_encoded_so_it_reads_literally() {
        let field = unstructured("Subject", "=?utf-8?B?SGk=?= is not ours");
        let words: Vec<&str> = field
            .split_whitespace()
            .filter(|w| w.starts_with("=?"))
            .collect();
        assert_eq!(
            words.iter().map(|w| decode(w)).collect::<String>(),
            "=?utf-8?B?SGk=?= is not ours"
        );
    }

    #[test]
    fn the_first_word_leaves_room_for_the_field_name() {
        let field = unstructured("Subject", &"Я".repeat(200));
        for line in lines(&field) {
            assert!(line.len() <= LINE_LIMIT, "{} chars: {line}", line.len());
        }
    }

    #[test]
    fn a_name_whose_escapes_make_a_word_too_long_is_encoded_and_never_quoted() {
        // 34 characters, 67 once the backslashes are escaped: found by the render_mime fuzzer.
        let name = format!("{};{}", "\\".repeat(20), "\\".repeat(13));
        let field = mailbox("From", Some(&name), "o@shop.example");
        assert!(!field.contains('"'), "{field}");
        let words: Vec<&str> = field
            .split_whitespace()
            .filter(|w| w.starts_with("=?"))
            .collect();
        assert_eq!(words.iter().map(|w| decode(w)).collect::<String>(), name);
    }

    #[test]
    fn an_api_parameter_gets_the_same_encoding_on_one_line() {
        assert_eq!(
            mailbox_unfolded(Some("Leaf & Kettle"), "orders@shop.example"),
            "Leaf & Kettle <orders@shop.example>"
        );
        let encoded = mailbox_unfolded(Some("Чай и кофе"), "orders@shop.example");
        assert!(encoded.starts_with("=?utf-8?B?") && !encoded.contains("\r\n"));
        assert_eq!(
            mailbox_unfolded(Some("Tea, Inc."), "orders@shop.example"),
            "\"Tea, Inc.\" <orders@shop.example>"
        );
    }
}
