/// CRC-32/ISO-HDLC, the checksum of zlib's `crc32()`, Ethernet and PNG (reflected polynomial
/// `0xEDB88320`, initial value and final XOR `0xFFFFFFFF`).
///
/// MAS uses it as the checksum inside its access and refresh tokens (see ``TokenFormat``), so the value
/// must match zlib bit for bit. Check value: `CRC32.checksum("123456789".utf8) == 0xCBF4_3926`.
public enum CRC32 {
    /// The 256-entry lookup table for the reflected polynomial, built once.
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    /// The CRC-32 of `bytes`.
    /// - Parameter bytes: the data to checksum.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
