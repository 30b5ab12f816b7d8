//! send-email's bench event: an SQS batch of one record, as the event source mapping of
//! `SendEmailQueue` hands it to the function, whose body is the EventBridge event the Email
//! bus rule put on the queue.

use serde_json::{Value, json};

/// The queue the record says it comes from (the template's `SendEmailQueue`).
const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:SendEmailQueue";

/// The message id send-email names if it hands the record back (`batchItemFailures`).
pub const MESSAGE_ID: &str = "9b1ae8b6-3d1e-4c1f-9a55-5a0c3c2b7e01";

/// One record carrying `event` serialised, with the fields Lambda sets on an SQS record.
pub fn batch_of_one(event: &Value) -> Value {
    let body = event.to_string();
    json!({"Records": [{
        "messageId": MESSAGE_ID,
        "receiptHandle": "AQEBbench-receipt-handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1764842400000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1764842400010"
        },
        "messageAttributes": {},
        "md5OfBody": md5_hex(body.as_bytes()),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1"
    }]})
}

/// Whether send-email's answer says every record was done: a partial batch response with no
/// `batchItemFailures`. Anything else (a failed record, another shape) is an error, so the
/// bench cannot measure a failure path without saying so.
pub fn all_done(response: &Value) -> Result<(), String> {
    match response["batchItemFailures"].as_array() {
        Some(failures) if failures.is_empty() => Ok(()),
        _ => Err(format!(
            "answered {response}, not an empty batchItemFailures"
        )),
    }
}

/// RFC 1321 MD5 of `data`, in hex: what SQS puts in `md5OfBody`. Written out here because no
/// crate in the workspace provides it and nothing but this field needs it.
fn md5_hex(data: &[u8]) -> String {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    // K[i] = floor(|sin(i + 1)| × 2^32), exact in f64 (the RFC's table).
    let k: Vec<u32> = (0..64)
        .map(|i| ((f64::from(i) + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in message.chunks_exact(64) {
        let words: Vec<u32> = block
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(words[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(SHIFTS[(i / 16) * 4 + i % 4]));
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    state
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_rfc_1321() {
        for (input, digest) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            assert_eq!(md5_hex(input.as_bytes()), digest, "{input:?}");
        }
    }

    #[test]
    fn the_record_carries_the_event_as_its_body() {
        let event = json!({"detail-type": "SendEmail", "detail": {"kind": "account_blocked"}});
        let batch = batch_of_one(&event);
        let record = &batch["Records"][0];
        let body = record["body"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), event);
        assert_eq!(record["md5OfBody"], md5_hex(body.as_bytes()));
        assert_eq!(record["eventSource"], "aws:sqs");
    }

    #[test]
    fn only_an_empty_failure_list_is_done() {
        assert!(all_done(&json!({"batchItemFailures": []})).is_ok());
        let failed = json!({"batchItemFailures": [{"itemIdentifier": MESSAGE_ID}]});
        assert!(all_done(&failed).is_err());
        assert!(all_done(&json!({"outcome": "sent"})).is_err());
    }
}
