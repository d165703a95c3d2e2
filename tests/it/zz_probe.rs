use crate::harness::{TestAgent, APP_ORIGIN};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn probe_oversize() {
    let agent = TestAgent::start_with(|_, o| o.write_rate = counter_agent::api::ratelimit::Rate { per_second: 100.0, burst: 1000.0 }).await;
    let token = agent.clerk_token();
    let over = counter_agent::api::MAX_PRINT_BODY + 1;
    for i in 0..12 {
        let (path, ct) = if i % 2 == 0 { ("/v1/prints?device=a4&idempotency_key=h", "application/pdf") } else { ("/v1/prints", "application/json") };
        let body = vec![b'A'; over];
        let stream = tokio::net::TcpStream::connect(agent.addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let head = format!("POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {APP_ORIGIN}\r\nAuthorization: Bearer {token}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", agent.host(), body.len());
        let t = tokio::time::Instant::now();
        let w = tokio::spawn(async move {
            let a = writer.write_all(head.as_bytes()).await;
            let b = writer.write_all(&body).await;
            (a.is_ok(), b.map_err(|e| e.kind()))
        });
        let mut resp = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut resp)).await;
        let wr = w.await.unwrap();
        println!("{i} {ct}: read {:?} {} bytes in {:?}; write {:?}; {:?}", r.map(|x| x.map_err(|e| e.kind())), resp.len(), t.elapsed(), wr, String::from_utf8_lossy(&resp[..resp.len().min(12)]));
    }
}

#[tokio::test]
async fn probe_oversize_reqwest() {
    let agent = TestAgent::start_with(|_, o| o.write_rate = counter_agent::api::ratelimit::Rate { per_second: 100.0, burst: 1000.0 }).await;
    let token = agent.clerk_token();
    for size in [70 * 1024, 1024 * 1024, 8 * 1024 * 1024, counter_agent::api::MAX_PRINT_BODY + 1] {
        for i in 0..4 {
            let path = if size < 1024 * 1024 * 4 { "/v1/scans" } else { "/v1/prints?device=a4&idempotency_key=h" };
            let ct = if size < 1024 * 1024 * 4 { "application/json" } else { "application/pdf" };
            let r = agent.request(reqwest::Method::POST, path).bearer_auth(&token).header("Content-Type", ct).body(vec![b'A'; size]).send().await;
            println!("{size} {i}: {:?}", r.map(|r| r.status()).map_err(|e| format!("{e:?}")));
        }
    }
}
