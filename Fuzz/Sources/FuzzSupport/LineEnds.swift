/// `text` with every LF that is not already after a CR made a CRLF, scalar by scalar: replacing Characters would
/// turn CR, CRLF (two line ends) into one CRLF.
public func withCRLF(_ text: String) -> String {
    var result = String.UnicodeScalarView()
    var previous: Unicode.Scalar?
    for scalar in text.unicodeScalars {
        if scalar == "\n" && previous != "\r" { result.append("\r") }
        result.append(scalar)
        previous = scalar
    }
    return String(result)
}
