#![no_main]
//! `cargo fuzz run link_token`: see aftercare_fuzz_targets::link_token.

libfuzzer_sys::fuzz_target!(|data: &[u8]| aftercare_fuzz_targets::link_token(data));
