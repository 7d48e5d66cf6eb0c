//! What a permission check costs: `permits` against a token with 50 grants,
//! when the last grant allows it (the longest path that says yes) and when none
//! does (deny by default looks at every grant), and the no-escalation check of
//! 50 requested grants against 50 held ones.
//!
//! Run: `cargo bench -p tessera-authz --bench permits`
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tessera_authz::{Grant, Permissions};

/// 50 grants on one bucket each, two actions apiece; then one on a device.
fn fifty_grants() -> Permissions {
    let mut permissions = Permissions::none();
    for i in 0..49 {
        permissions.add(
            Grant::new(
                "bucket",
                Some(&format!("bucket-{i}")),
                &["ReadBucket", "WriteBucket"],
            )
            .unwrap(),
        );
    }
    permissions.add(Grant::new("device", Some("device-7"), &["AccessDeviceResources"]).unwrap());
    permissions
}

fn permits(c: &mut Criterion) {
    let permissions = fifty_grants();
    assert_eq!(permissions.grants().len(), 50);
    c.bench_function("permits/50-grants/last-allows", |b| {
        b.iter(|| {
            black_box(&permissions).permits(
                black_box("device"),
                black_box("device-7"),
                black_box("AccessDeviceResources"),
            )
        })
    });
    c.bench_function("permits/50-grants/denied", |b| {
        b.iter(|| {
            black_box(&permissions).permits(
                black_box("bucket"),
                black_box("bucket-99"),
                black_box("ReadBucket"),
            )
        })
    });
    c.bench_function("check_grantable/50-of-50", |b| {
        b.iter(|| black_box(&permissions).check_grantable(black_box(&permissions)))
    });
}

criterion_group!(benches, permits);
criterion_main!(benches);
