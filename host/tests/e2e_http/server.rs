//! The world of one test: a temp dir with the host config, the policies and the data dir
//! (SQLite), the fake provider servers, and the real `autopack-host` binary serving on a
//! random loopback port.

use crate::client::Api;
use crate::common::fake_alpaca::AlpacaApi;
use crate::common::fake_etsy::EtsyApi;
use crate::common::fake_server::Fake;
use crate::common::fake_shopify::{self, Shop};
use crate::common::fake_youtube::{self, Tube};
use crate::common::host_bin::{self, Running};
use crate::common::providers;
use crate::common::recorder::Recorder;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub use crate::common::host_bin::Principal;

/// Proposes, and may approve others' actions (never its own: separation of duties).
pub const PAT: Principal = Principal {
    id: "pat",
    key: "apk_e2e_pat_2bq7WcX0vT9mLr4sYd8uKa3Ne6Hj1Fg5",
    roles: &["proposer", "approver"],
    projects: None,
};
/// A second proposer, who may not approve.
pub const QUINN: Principal = Principal {
    id: "quinn",
    key: "apk_e2e_quinn_8Zp3Lx6Rv1Tm9Qc2Wn5Ys7Kd4Bf0Gh",
    roles: &["proposer"],
    projects: None,
};
/// An approver.
pub const ALICE: Principal = Principal {
    id: "alice",
    key: "apk_e2e_alice_5Hs9Pq2Vx7Lm3Tc8Rw1Nb6Yk4Jd0Fz",
    roles: &["approver"],
    projects: None,
};
/// The operator: switches and reconciliation.
pub const OLGA: Principal = Principal {
    id: "olga",
    key: "apk_e2e_olga_3Kd8Wm1Qs6Xv9Lp4Tr7Nc2Yh5Bg0Fj",
    roles: &["operator"],
    projects: None,
};
/// A viewer of another project only.
pub const VIC: Principal = Principal {
    id: "vic",
    key: "apk_e2e_vic_7Tn2Qw5Lx9Rs1Vm6Pc3Yk8Hd4Bj0Gf",
    roles: &["viewer"],
    projects: Some(&["other"]),
};

pub const PRINCIPALS: [&Principal; 5] = [&PAT, &QUINN, &ALICE, &OLGA, &VIC];

/// The `demo` project: Etsy listings, one approver who is not the proposer.
pub const DEMO_POLICY: &str = r#"
project = "demo"
approvals_required = 1
approval_lifetime = "1h"
proposer_may_approve = []

[caps]
per_action = ["5.00 USD"]
per_day = ["20.00 USD"]
per_month = ["200.00 USD"]

[domains.etsy]
operations = ["get_shop", "list_listings", "create_draft_listing", "publish_listing"]
auto_approve = ["create_draft_listing"]

[domains.shopify]
operations = ["get_product"]
"#;

/// The `trading-desk` project: small limit orders, a daily cap of 250 USD.
pub const TRADING_POLICY: &str = r#"
project = "trading-desk"
approvals_required = 1
approval_lifetime = "15m"
proposer_may_approve = []

[caps]
per_action = ["200.00 USD"]
per_day = ["250.00 USD"]
per_month = ["1000.00 USD"]

[domains.trading]
operations = ["get_account", "list_positions", "place_order"]

[domains.trading.limits]
operations = ["place_order"]
max_notional = "200.00 USD"
symbols = ["AAPL", "MSFT"]
order_types = ["limit"]
sides = ["buy", "sell"]
"#;

/// The project the viewer is scoped to.
pub const OTHER_POLICY: &str = r#"
project = "other"

[domains.youtube]
operations = ["list_my_videos"]
"#;

/// Where the fake provider servers listen.
pub struct Origins {
    pub etsy: String,
    pub shopify: String,
    pub youtube: String,
    pub trading: String,
}

/// The four loopback fakes of the walks.
pub struct Fakes {
    pub etsy: Fake<EtsyApi>,
    pub alpaca: Fake<AlpacaApi>,
    pub shopify: Recorder<Shop>,
    pub youtube: Recorder<Tube>,
}

impl Fakes {
    pub async fn start() -> Fakes {
        let youtube = Recorder::start(Tube::new(), fake_youtube::youtube).await;
        youtube
            .state()
            .origin
            .set(youtube.origin())
            .expect("youtube origin");
        Fakes {
            etsy: Fake::<EtsyApi>::start().await,
            alpaca: Fake::<AlpacaApi>::start().await,
            shopify: Recorder::start(Shop::default(), fake_shopify::shopify).await,
            youtube,
        }
    }

    pub fn origins(&self) -> Origins {
        Origins {
            etsy: self.etsy.origin(),
            shopify: self.shopify.origin(),
            youtube: self.youtube.origin(),
            trading: self.alpaca.origin(),
        }
    }
}

/// The host config: SQLite in the data dir, the four real providers granted only their
/// fake's origin, and the five principals.
pub fn config_text(dir: &Path, o: &Origins) -> String {
    let mut t = host_bin::paths_toml(dir);
    t.push_str("\n[runtime]\nmax_instances = 16\n");
    t.push_str(&host_bin::api_keys_toml(&PRINCIPALS));
    t.push_str(&providers::providers_toml(
        &providers::Origins {
            etsy: &o.etsy,
            shopify: &o.shopify,
            youtube: &o.youtube,
            trading: &o.trading,
        },
        None,
    ));
    t
}

/// A host's home: the config, the policies and the data dir, kept across restarts.
pub struct World {
    pub dir: TempDir,
}

impl World {
    pub fn new(origins: &Origins) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).expect("policies dir");
        for (name, text) in [
            ("demo", DEMO_POLICY),
            ("trading-desk", TRADING_POLICY),
            ("other", OTHER_POLICY),
        ] {
            std::fs::write(policies.join(format!("{name}.toml")), text).expect("policy");
        }
        std::fs::write(
            dir.path().join("autopack-host.toml"),
            config_text(dir.path(), origins),
        )
        .expect("config");
        World { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("autopack-host.toml")
    }

    /// A command running the binary with this world's environment.
    pub fn command(&self) -> Command {
        let mut cmd = host_bin::command(self.dir.path());
        cmd.envs(providers::secrets());
        cmd
    }

    /// Starts `autopack-host serve` and waits until it says where it listens. The `n`th
    /// start of this world logs to `server-<n>.log`.
    pub async fn start(&self, n: u32) -> Server {
        self.start_with(n, &[]).await
    }

    /// [`World::start`] with extra environment variables (a replica's instance id).
    pub async fn start_with(&self, n: u32, env: &[(&str, &str)]) -> Server {
        let log = self.dir.path().join(format!("server-{n}.log"));
        let mut command = self.command();
        command.envs(env.iter().copied());
        let running = Running::start(command, &self.config(), log).await;
        Server {
            api: Api { addr: running.addr },
            running,
        }
    }
}

/// A running `autopack-host serve`.
pub struct Server {
    running: Running,
    pub api: Api,
}

impl Server {
    /// SIGKILL on unix: no shutdown code runs.
    pub fn kill(&mut self) {
        self.running.kill();
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        self.running.log_text()
    }
}
