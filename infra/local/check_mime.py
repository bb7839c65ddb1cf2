"""Reads raw MIME messages with Python's strict email parser and says what it found.

Standard input: a JSON list of base64-encoded raw messages. Standard output: a JSON list with,
for each message, the decoded `From` and `To` display names and addresses, the decoded
`Subject`, every defect the parser registered (on the message, its parts and each header), and
the lines that break the length limits (RFC 5322: 998 characters; RFC 2047: 76 for a line
holding an encoded-word). Parsing uses `email.policy.strict`, which raises on the defects it
raises on; the ones it only records are listed, so the caller can refuse them too.

Display names are decoded by `email.header.decode_header` after `email.utils.parseaddr` has
taken the quoting off: that is RFC 2047 §6.2 (white space between two adjacent encoded-words
is not part of the text). The header registry's own `display_name` keeps that white space in
Python 3.11, which mail clients do not, so it is not used for the decoded value.

The test harness runs this as an independent check of the Rust code that writes the headers.
"""

import base64
import email
import email.header
import email.policy
import email.utils
import json
import re
import sys

ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[:end]


def unfolded(message, name: str) -> str:
    """The field's value as written, with the folding taken out (RFC 5322 §2.2.3)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return value.replace("\r\n", "").replace("\n", "")
    return ""


def decoded(text: str) -> str:
    """Text with its encoded-words decoded as RFC 2047 §6.2 says."""
    return str(email.header.make_header(email.header.decode_header(text)))


def inspect(raw: bytes) -> dict:
    problems = []
    for number, line in enumerate(header_block(raw).split(b"\r\n"), start=1):
        text = line.decode("ascii", errors="replace")
        if any(b > 0x7E for b in line):
            problems.append(f"header line {number} is not ASCII: {text!r}")
        if len(line) > 998:
            problems.append(f"header line {number} is {len(line)} characters long")
        if ENCODED_WORD.search(text) and len(line) > 76:
            problems.append(f"header line {number} holds an encoded-word and is {len(line)} characters long")
        for word in ENCODED_WORD.findall(text):
            if len(word) > 75:
                problems.append(f"an encoded-word of {len(word)} characters: {word}")
        if line and line.strip(b" \t") == b"":
            problems.append(f"header line {number} is only white space")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.strict)
    except Exception as error:  # the strict policy raises on what it cannot accept
        return {"problems": problems + [f"the strict parser refused the message: {error!r}"]}
    problems += [f"message: {d!r}" for d in message.defects]
    for part in message.walk():
        problems += [f"part {part.get_content_type()}: {d!r}" for d in part.defects]
    result = {}
    for name in message.keys():
        header = message[name]
        problems += [f"{name}: {d!r}" for d in getattr(header, "defects", ())]
    for name in ("From", "To"):
        header = message[name]
        if header is None or len(header.addresses) != 1:
            problems.append(f"{name}: expected one address, got {header!r}")
            continue
        display, address = email.utils.parseaddr(unfolded(message, name))
        result[name.lower()] = {"name": decoded(display), "address": address}
        if address != header.addresses[0].addr_spec:
            problems.append(f"{name}: the strict parser read the address {header.addresses[0].addr_spec!r}")
    result["subject"] = decoded(unfolded(message, "Subject"))
    if str(message["Subject"]) != result["subject"]:
        problems.append(f"Subject: the strict parser read {str(message['Subject'])!r}")
    try:
        body = message.get_body(preferencelist=("plain",))
        result["text"] = body.get_content() if body is not None else None
    except Exception as error:
        problems.append(f"the text part could not be read: {error!r}")
    result["problems"] = problems
    return result


def main() -> None:
    messages = json.load(sys.stdin)
    json.dump([inspect(base64.b64decode(m)) for m in messages], sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
