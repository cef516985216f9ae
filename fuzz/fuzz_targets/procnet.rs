#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dockhard::fuzzing::procnet(data));
