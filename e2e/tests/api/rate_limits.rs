//! Per-organization request budgets, through the API: one organization over its budget is
//! answered 429 with `Retry-After`, while another's requests go on untouched; every
//! authenticated answer tells where its organization's budget stands.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Api, Tenant, dynamodb, eventually, table};
use reqwest::{Method, Response, StatusCode};

/// The stack's window (tools/stack.sh leaves the default).
const WINDOW_SECONDS: i64 = 2;

/// An operator's budget for one organization: `quota` on its counter item.
async fn give_quota(tenant: &Tenant, quota: u32) {
    dynamodb()
        .await
        .update_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S("RATE_LIMIT".into()))
        .update_expression("SET quota = :q")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":q", AttributeValue::N(quota.to_string()))
        .send()
        .await
        .expect("the counter exists (the tenant fixture made a request)");
}

async fn list(api: &Api, tenant: &Tenant) -> Response {
    api.request(Method::GET, "/api/v1/tasks", Some(&tenant.admin.token)).send().await.expect("the API answers")
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

/// `"organization";a=1;b=2` → the value of `key`.
fn parameter(field: &str, key: &str) -> u64 {
    let mut parts = field.split(';');
    assert_eq!(parts.next(), Some("\"organization\""), "{field}");
    parts
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {field}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_over_its_budget_gets_429_and_another_is_untouched() {
    let api = Api::from_env();
    let (limited, other) = (api.tenant().await, api.tenant().await);
    give_quota(&limited, 2).await;

    let started = chrono::Utc::now().timestamp();
    let (mine, theirs) = tokio::join!(at_once(&api, &limited, 20), at_once(&api, &other, 10));
    let ended = chrono::Utc::now().timestamp();

    let windows = (ended - ended.rem_euclid(WINDOW_SECONDS) - (started - started.rem_euclid(WINDOW_SECONDS)))
        / WINDOW_SECONDS
        + 1;
    let served = mine.iter().filter(|r| r.status() == StatusCode::OK).count() as i64;
    assert!(served <= 2 * windows, "{served} served in {windows} windows of quota 2");
    let refused: Vec<&Response> = mine.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(served + refused.len() as i64, 20, "each answered 200 or 429");
    assert!(!refused.is_empty());
    for response in &mine {
        assert_eq!(parameter(header(response, "ratelimit-policy"), "q"), 2);
        assert_eq!(parameter(header(response, "ratelimit-policy"), "w"), WINDOW_SECONDS as u64);
        let reset = parameter(header(response, "ratelimit"), "t");
        assert!((1..=WINDOW_SECONDS as u64).contains(&reset), "reset {reset}");
    }
    for response in refused {
        assert_eq!(header(response, "content-type"), "application/problem+json");
        let retry: u64 = header(response, "retry-after").parse().unwrap();
        assert!((1..=WINDOW_SECONDS as u64).contains(&retry), "Retry-After {retry}");
        assert_eq!(parameter(header(response, "ratelimit"), "r"), 0);
    }
    // The other organization, at the same moment: every request served, on its own budget.
    for response in &theirs {
        assert_eq!(response.status(), StatusCode::OK);
        let policy = header(response, "ratelimit-policy");
        assert!(parameter(policy, "q") > 2, "{policy}");
    }
    // And the limited one is served again once its window is over.
    assert!(
        eventually(3 * WINDOW_SECONDS as u64, || async { list(&api, &limited).await.status() == StatusCode::OK }).await,
        "the budget never came back"
    );
}

#[tokio::test]
async fn every_authenticated_answer_carries_the_budget_and_an_unauthenticated_one_does_not() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let missing = format!("/api/v1/tasks/{}", uuid::Uuid::new_v4());
    let refused = api.request(Method::GET, &missing, Some(&tenant.admin.token)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let first = parameter(header(&refused, "ratelimit"), "r");
    let served = list(&api, &tenant).await;
    let second = parameter(header(&served, "ratelimit"), "r");
    // Each request spends one, unless a window ended between the two.
    assert!(
        second < first || second + 1 >= parameter(header(&served, "ratelimit-policy"), "q"),
        "{first} then {second}"
    );
    let anonymous = api.request(Method::GET, "/api/v1/tasks", None).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().get("ratelimit").is_none(), "a request of no organization counts against none");
}

/// `n` requests of `tenant`'s list at once, their answers in order.
async fn at_once(api: &Api, tenant: &Tenant, n: usize) -> Vec<Response> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (api, tenant) = (api.clone(), tenant.clone());
            tokio::spawn(async move { list(&api, &tenant).await })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for handle in handles {
        answers.push(handle.await.expect("the request task ran"));
    }
    answers
}
