//! In-process cost of the pure pipeline: model + rules + renderers over a
//! snapshot (the I/O of `collect` is measured by scripts/bench/check.sh as
//! whole-process timings on a live daemon).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn load(name: &str) -> dockhard::snapshot::Snapshot {
    let p = format!("{}/benches/data/{name}", env!("CARGO_MANIFEST_DIR"));
    dockhard::cli::read_snapshot(std::path::Path::new(&p)).expect("bench snapshot")
}

fn bench(c: &mut Criterion) {
    let snap = load("live-defaults.json");
    c.bench_function("audit live-defaults", |b| {
        b.iter(|| dockhard::audit::run(black_box(&snap)))
    });
    let report = dockhard::audit::run(&snap);
    c.bench_function("render json", |b| {
        b.iter(|| dockhard::report::json::render(black_box(&report)))
    });
    c.bench_function("render text", |b| {
        b.iter(|| dockhard::report::text::render(black_box(&report), false))
    });
    let text = snap
        .files
        .values()
        .filter_map(|f| f.text.as_deref())
        .find(|t| t.trim_start().starts_with('{'))
        .unwrap_or("{}")
        .to_string();
    c.bench_function("parse daemon.json", |b| {
        b.iter(|| dockhard::parse::json::parse(black_box(&text)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
