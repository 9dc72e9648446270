//! The world of one test: a temp dir with the host config, the policies and the data dir
//! (SQLite), the fake provider servers, and the real `autopack-host` binary serving on a
//! random loopback port.

use crate::client::Api;
use crate::common::fake_alpaca::{self, AlpacaApi};
use crate::common::fake_etsy::{self, EtsyApi};
use crate::common::fake_server::Fake;
use crate::common::fake_shopify::{self, Shop};
use crate::common::fake_youtube::{self, Tube};
use crate::common::recorder::Recorder;
use autopack_host::api::auth::key_hash_hex;
use std::fmt::Write as _;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

/// One API principal: id, key, roles, project scope.
pub struct Principal {
    pub id: &'static str,
    pub key: &'static str,
    pub roles: &'static [&'static str],
    pub projects: Option<&'static [&'static str]>,
}

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

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// The host config: SQLite in the data dir, the four real providers granted only their
/// fake's origin, and the five principals.
pub fn config_text(dir: &Path, o: &Origins) -> String {
    let data = dir.join("data");
    let mut t = String::new();
    let _ = writeln!(t, "data_dir = {}", q(&data.display().to_string()));
    let _ = writeln!(
        t,
        "database_url = {}",
        q(&format!("sqlite://{}", data.join("autopack.db").display()))
    );
    let _ = writeln!(
        t,
        "policies_dir = {}",
        q(&dir.join("policies").display().to_string())
    );
    t.push_str("\n[runtime]\nmax_instances = 16\n");
    for p in PRINCIPALS {
        let roles: Vec<String> = p.roles.iter().map(|r| q(r)).collect();
        let _ = write!(
            t,
            "\n[[api_keys]]\nid = {}\nsha256 = {}\nroles = [{}]\n",
            q(p.id),
            q(&key_hash_hex(p.key)),
            roles.join(", ")
        );
        if let Some(projects) = p.projects {
            let ps: Vec<String> = projects.iter().map(|r| q(r)).collect();
            let _ = writeln!(t, "projects = [{}]", ps.join(", "));
        }
    }
    let provider = |t: &mut String,
                    domain: &str,
                    component: &str,
                    origin: &str,
                    extra: &str,
                    settings: &[(&str, &str)],
                    creds: &[(&str, &str)]| {
        let _ = write!(
            t,
            "\n[[providers]]\ndomain = {}\ncomponent = {}\norigins = [{}]\n{extra}",
            q(domain),
            q(component),
            q(origin)
        );
        t.push_str("[providers.settings]\n");
        for (k, v) in settings {
            let _ = writeln!(t, "{k} = {}", q(v));
        }
        for (header, value) in creds {
            let _ = write!(
                t,
                "[[providers.credentials]]\norigin = {}\nheader = {}\nvalue = {}\n",
                q(origin),
                q(header),
                q(value)
            );
        }
    };
    provider(
        &mut t,
        "etsy",
        autopack_test_artifacts::AUTOPACK_ETSY,
        &o.etsy,
        "",
        &[
            ("base_url", &o.etsy),
            ("shop_id", &fake_etsy::SHOP_ID.to_string()),
        ],
        &[
            ("x-api-key", "{ETSY_API_KEY}"),
            ("Authorization", "Bearer {ETSY_OAUTH_TOKEN}"),
        ],
    );
    provider(
        &mut t,
        "shopify",
        autopack_test_artifacts::AUTOPACK_SHOPIFY,
        &o.shopify,
        &format!("graphql_read_paths = [{}]\n", q(fake_shopify::PATH)),
        &[("base_url", &o.shopify)],
        &[("X-Shopify-Access-Token", "{SHOPIFY_ACCESS_TOKEN}")],
    );
    provider(
        &mut t,
        "youtube",
        autopack_test_artifacts::AUTOPACK_YOUTUBE,
        &o.youtube,
        "",
        &[("base_url", &o.youtube)],
        &[("Authorization", "Bearer {YOUTUBE_OAUTH_TOKEN}")],
    );
    provider(
        &mut t,
        "trading",
        autopack_test_artifacts::AUTOPACK_TRADING,
        &o.trading,
        "",
        &[("environment", "paper"), ("base_url", &o.trading)],
        &[
            ("APCA-API-KEY-ID", "{APCA_API_KEY_ID}"),
            ("APCA-API-SECRET-KEY", "{APCA_API_SECRET_KEY}"),
        ],
    );
    t
}

/// The provider secrets, as the host's environment.
pub fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ETSY_API_KEY", fake_etsy::API_KEY),
        ("ETSY_OAUTH_TOKEN", fake_etsy::OAUTH_TOKEN),
        ("SHOPIFY_ACCESS_TOKEN", fake_shopify::TOKEN),
        ("YOUTUBE_OAUTH_TOKEN", fake_youtube::TOKEN),
        ("APCA_API_KEY_ID", fake_alpaca::KEY_ID),
        ("APCA_API_SECRET_KEY", fake_alpaca::SECRET_KEY),
    ]
}

/// Variables of the test's own environment that would change what the host does.
const SCRUBBED: &[&str] = &[
    "AUTOPACK_ENV",
    "AUTOPACK_API_KEY",
    "AUTOPACK_API_KEY_FILE",
    "AUTOPACK_EXTERNAL_ACTIONS",
    "AUTOPACK_LISTEN",
    "AUTOPACK_LOG",
    "AUTOPACK_LOG_FORMAT",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "JWT_PRIVATE_KEY_FILE",
    "JWT_PUBLIC_KEY_FILE",
];

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
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path());
        for v in SCRUBBED {
            cmd.env_remove(v);
        }
        for (k, v) in secrets() {
            cmd.env(k, v);
        }
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
        let stderr = std::fs::File::create(&log).expect("log file");
        let config = self.config();
        let mut command = self.command();
        command.envs(env.iter().copied());
        let mut child = command
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn autopack-host");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        // Reads stdout to its end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("autopack-host listening on http://")
                    && let (Some(tx), Ok(addr)) = (tx.take(), addr.trim().parse())
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(addr)) => addr,
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "autopack-host did not start ({}; exit {status:?}); its log:\n{}",
                    if other.is_err() {
                        "timed out"
                    } else {
                        "stdout closed"
                    },
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Server {
            child: Some(child),
            api: Api { addr },
            log,
        }
    }
}

/// A running `autopack-host serve`.
pub struct Server {
    child: Option<Child>,
    pub api: Api,
    pub log: PathBuf,
}

impl Server {
    /// SIGKILL on unix: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
