#![no_main]
//! `cargo fuzz run render_mime`: see aftercare_fuzz_targets::render_mime.

libfuzzer_sys::fuzz_target!(|data: &[u8]| aftercare_fuzz_targets::render_mime(data));
