//! Crash safety of the print queue with the real binary: `kill -9` while one job is half-sent to a
//! printer that ran out of paper and others are queued; after a restart no job is lost and none is
//! printed twice, and clients replaying their idempotency keys change nothing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use counter_agent_driver_sim::fake_escpos::{Behaviour, FakeEscpos};
use serde_json::{json, Value};

use crate::harness::APP_ORIGIN;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Daemon {
    child: Child,
    base: String,
}

impl Daemon {
    fn start(station: &std::path::Path, port: u16) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_counter-agent"))
            .args(["serve", "--config"])
            .arg(station)
            .env("COUNTER_AGENT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start counter-agent serve");
        let daemon = Daemon { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the agent did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn submit(client: &reqwest::Client, daemon: &Daemon, token: &str, key: &str, bytes: &[u8]) -> (u16, Value) {
    let body = json!({"device": "counter-printer", "idempotency_key": key, "escpos": b64(bytes)});
    let response = client
        .post(format!("{}/v1/prints", daemon.base))
        .bearer_auth(token)
        .header("Origin", APP_ORIGIN)
        .json(&body)
        .send()
        .await
        .expect("send");
    (response.status().as_u16(), response.json().await.expect("json"))
}

async fn job(client: &reqwest::Client, daemon: &Daemon, token: &str, id: &str) -> Value {
    client
        .get(format!("{}/v1/prints/{id}", daemon.base))
        .bearer_auth(token)
        .header("Origin", APP_ORIGIN)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

async fn wait_state(client: &reqwest::Client, daemon: &Daemon, token: &str, id: &str, states: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = job(client, daemon, token, id).await;
        if states.iter().any(|state| value["state"] == *state) {
            return value;
        }
        assert!(Instant::now() < deadline, "job {id} never reached {states:?}: {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kill_9_with_a_half_sent_job_and_a_queue_loses_nothing_and_prints_nothing_twice() {
    let fake = FakeEscpos::start_tcp(Behaviour::RunsOutAfter(2_000)).expect("fake printer");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let station = dir.path().join("station.toml");
    std::fs::write(
        &station,
        format!(
            "[station]\nname = \"Quầy 1\"\ncounter = 1\n[server]\nlisten = \"127.0.0.1:{port}\"\nallowed_origins = [\"{APP_ORIGIN}\"]\n\
             [storage]\ndata_dir = \"data\"\n\
             [[device]]\nid = \"counter-printer\"\nprofile = \"escpos-generic-80mm\"\nconnection = \"tcp://{}\"\n",
            fake.address()
        ),
    )
    .expect("write station");
    let created = Command::new(env!("CARGO_BIN_EXE_counter-agent"))
        .args(["token", "create", "--config"])
        .arg(&station)
        .args(["--origin", APP_ORIGIN, "--scopes", "print"])
        .output()
        .expect("token create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let token = String::from_utf8_lossy(&created.stdout).trim().to_string();
    // No pooled connection may outlive the killed agent.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");

    // One long job the printer will stop in the middle of, then four short ones behind it.
    let mut long = vec![0x1B, b'@'];
    for row in 0..4_000u32 {
        long.extend_from_slice(format!("Dòng {row:04} — Hẹn trả kết quả\n").as_bytes());
    }
    let short = |i: u8| vec![0x1B, b'@', b'V', b'e', b' ', b'0' + i, 0x0A];
    let mut documents = vec![("long".to_string(), long.clone())];
    documents.extend((1..=4).map(|i| (format!("short-{i}"), short(i))));

    let daemon = Daemon::start(&station, port);
    let mut ids = Vec::new();
    for (key, bytes) in &documents {
        let (status, value) = submit(&client, &daemon, &token, key, bytes).await;
        assert_eq!(status, 202, "{value}");
        ids.push(value["id"].as_str().expect("id").to_string());
    }
    let held = wait_state(&client, &daemon, &token, &ids[0], &["waiting"]).await;
    assert_eq!(held["reason"], "offline");
    for id in &ids[1..] {
        assert_eq!(job(&client, &daemon, &token, id).await["state"], "queued", "FIFO: behind the held job");
    }
    daemon.kill();

    // Paper loaded while the agent is dead: the printer prints what it had taken of the long job.
    fake.set_behaviour(Behaviour::Ready);
    let daemon = Daemon::start(&station, port);
    // The client did not hear back and replays every submission: same jobs, nothing new.
    for ((key, bytes), id) in documents.iter().zip(&ids) {
        let (status, value) = submit(&client, &daemon, &token, key, bytes).await;
        assert_eq!((status, value["id"].as_str()), (200, Some(id.as_str())), "{value}");
    }
    let interrupted = wait_state(&client, &daemon, &token, &ids[0], &["failed"]).await;
    assert_eq!(interrupted["reason"], "interrupted", "a half-printed job is never sent again by itself");
    for id in &ids[1..] {
        wait_state(&client, &daemon, &token, id, &["printed"]).await;
    }
    let jobs: Vec<Vec<u8>> = fake.jobs().into_iter().filter(|job| job.starts_with(&[0x1B, b'@'])).collect();
    assert_eq!(jobs.len(), 5, "the long job's first part once, then each short job once");
    // What the kernel had taken before the kill still reaches the printer (here: all of it).
    let first = jobs[0].strip_suffix(&[0x1D, b'r', 1]).unwrap_or(&jobs[0]);
    assert!(long.starts_with(first), "the long job's bytes once, never a second copy");
    for (i, job) in jobs[1..].iter().enumerate() {
        let mut expected = short(i as u8 + 1);
        expected.extend_from_slice(&[0x1D, b'r', 1]);
        assert_eq!(job, &expected, "short job {} once, in order", i + 1);
    }
    drop(daemon);
}
