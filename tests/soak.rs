//! The small soak `make test` runs (`make soak` runs the large one): order events redelivered,
//! shuffled and applied concurrently with the schedule sweeping, through the fault proxy at
//! realistic rates, with invocations killed after a commit, after SES accepted and before
//! mark-sent. Every journey's mail must be what the journey implies: none lost, none sent twice
//! outside the documented window, no write taking its own effect for someone else's.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_crashes_and_redelivery_every_message_goes_out_exactly_once() {
    let config = aftercare_soak::SoakConfig::small(7);
    let report = aftercare_soak::run(&config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{report}");
    assert!(report.problems().is_empty(), "{report}");
    // The soak is only worth something if it hurt: every kind of fault and crash happened.
    for kind in aftercare_fault_proxy::FaultKind::ALL {
        assert!(
            report.faults.count(kind) > 0,
            "no {kind} injected:\n{report}"
        );
    }
    for point in aftercare_fault_proxy::CrashPoint::ALL {
        assert!(
            report.faults.crashes.get(&point).copied().unwrap_or(0) > 0,
            "no crash {} :\n{report}",
            point.as_str()
        );
    }
    assert!(report.findings.follow_up_messages > 0, "{report}");
    assert!(report.counts.deliveries > report.counts.events, "{report}");
}
