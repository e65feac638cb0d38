import Foundation
import Testing
import ZooKeeperProtocol

/// The JSON the shell writes (results, export files) and reads (import files), checked against Foundation's.
struct JSONValueTests {
    static let strings = [
        "", "plain", "quote \" backslash \\ slash /", "tab\tnew\nline\rcr", "\u{01}\u{1F}\u{7F}", "é ✓ 日本",
        "emoji 🦓 outside the BMP",
    ]

    @Test(arguments: strings) func stringsRoundTripAndFoundationAgrees(text: String) throws {
        let value = JSONValue.object([("s", .string(text)), ("n", .integer(-9_007_199_254_740_993))])
        #expect(try JSONValue(parsing: value.text) == value)
        let foundation = try JSONSerialization.jsonObject(with: Data(value.text.utf8)) as? [String: Any]
        #expect(foundation?["s"] as? String == text)
        // What Foundation writes, we read.
        let written = try JSONSerialization.data(withJSONObject: ["s": text, "a": [1, 2]])
        let parsed = try JSONValue(parsing: String(decoding: written, as: UTF8.self))
        #expect(parsed["s"]?.stringValue == text)
        #expect(parsed["a"]?.arrayValue?.compactMap(\.integerValue) == [1, 2])
    }

    @Test func escapesAndSurrogatePairs() throws {
        #expect(try JSONValue(parsing: #""\u00e9\ud83e\udd93\n""#).stringValue == "é🦓\n")
        #expect(try JSONValue(parsing: #" { "a" : [ true , false , null ] } "#)["a"] == [true, false, nil])
    }

    /// The AdminServer's JSON: numbers with fractions as Java writes doubles, laid out as Jackson's pretty printer.
    @Test func fractionsAndThePrettyLayout() throws {
        #expect(try JSONValue(parsing: "[1.5, -2e3, 0.125]") == [.double(1.5), .double(-2000), .double(0.125)])
        #expect(JSONValue.double(0).text == "0.0" && JSONValue.double(3.25).text == "3.25")
        let value = JSONValue.object([
            ("command", "stats"), ("error", nil), ("empty", []), ("none", .object([])),
            ("list", [.object([("a", 1)]), 2]), ("inner", .object([("avg", .double(8.8333))])),
        ])
        #expect(
            value.prettyText == """
                {
                  "command" : "stats",
                  "error" : null,
                  "empty" : [ ],
                  "none" : { },
                  "list" : [ {
                    "a" : 1
                  }, 2 ],
                  "inner" : {
                    "avg" : 8.8333
                  }
                }
                """)
        #expect(try JSONValue(parsing: value.prettyText) == value)
    }

    @Test(arguments: [
        ("", "unexpected end at byte 1"), ("{\"a\":", "unexpected end at byte 6"),
        ("[1,]", "expected a value at byte 4"),
        ("\"\\ud800\"", "expected \\u at byte 8"), ("1.", "expected a digit at byte 3"),
        ("1e+", "expected a digit at byte 4"), ("1 2", "text after the value at byte 3"),
        ("\"a\nb\"", "a control character in a string at byte 3"), ("{\"a\" 1}", "expected : at byte 6"),
    ])
    func malformedTextSaysWhatAndWhere(text: String, message: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(error.description == message)
        }
    }
}
