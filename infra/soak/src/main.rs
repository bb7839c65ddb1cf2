//! `make soak`: the large soak, with its figures. `AFTERCARE_SOAK_SEED` picks another seed,
//! `AFTERCARE_SOAK_CUSTOMERS` another size, `FAULTS` (a fault plan) other rates. Exits 1 when a
//! guarantee broke.

use aftercare_fault_proxy::FaultPlan;
use aftercare_soak::SoakConfig;

fn variable<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={value:?} is not a number")),
        _ => Ok(None),
    }
}

#[tokio::main]
async fn main() {
    let configured = || -> Result<SoakConfig, String> {
        let seed = variable("AFTERCARE_SOAK_SEED")?.unwrap_or(20261201);
        let mut config = SoakConfig::large(seed);
        if let Some(customers) = variable("AFTERCARE_SOAK_CUSTOMERS")? {
            config.customers = customers;
        }
        if let Ok(line) = std::env::var("FAULTS") {
            if !line.trim().is_empty() {
                let mut plan = FaultPlan::parse(&line).map_err(|e| e.to_string())?;
                if !line.contains("seed=") {
                    plan.seed = seed;
                }
                config.faults = plan;
            }
        }
        Ok(config)
    };
    let config = match configured() {
        Ok(config) => config,
        Err(problem) => {
            eprintln!("{problem}");
            std::process::exit(2);
        }
    };
    println!(
        "Soaking {} customers with faults {} and a crash chance of {} per invocation...",
        config.customers, config.faults, config.crash_rate
    );
    match aftercare_soak::run_reporting(&config, &|line| println!("{line}")).await {
        Ok(report) => {
            println!("{report}");
            if !report.problems().is_empty() {
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    }
}
