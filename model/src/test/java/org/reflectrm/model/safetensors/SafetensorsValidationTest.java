package org.reflectrm.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.assertRejected;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.raw;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.write;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;

/** One test per check of the reader: the exception type and a message naming file and culprit. */
class SafetensorsValidationTest {

    @TempDir
    Path dir;

    private Path file;

    @BeforeEach
    void setUp() {
        file = dir.resolve("model.safetensors");
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
                + end + "]}";
    }

    /** A file with this header (exact length, no padding) and {@code dataBytes} zero bytes. */
    private Path header(String json, int dataBytes) {
        return write(file, raw(json, new byte[dataBytes]));
    }

    private Path tensorEntry(String body) {
        return header("{\"a\":" + body + "}", 8);
    }

    // ---- length field and raw header bytes

    @Test
    void fileShorterThanTheLengthField() {
        write(file, new byte[] {1, 0, 0, 0, 0});
        assertRejected(file, "5 bytes", "truncated");
    }

    @Test
    void emptyFile() {
        write(file, new byte[0]);
        assertRejected(file, "0 bytes", "truncated");
    }

    @Test
    void headerLengthBeyondTheFile() {
        write(file, raw(100, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
        assertRejected(file, "header length 100", "beyond the end of the file", "only 2 bytes");
    }

    @Test
    void headerLengthAboveTheLimit() {
        write(file, raw(100_000_001, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
        assertRejected(file, "100000001", "limit of 100000000");
    }

    @Test
    void headerLengthWithTheTopBitSetReadsAsUnsigned() {
        write(file, raw(-1, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
        assertRejected(file, "18446744073709551615", "limit");
    }

    @Test
    void headerNotUtf8() {
        write(file, raw(4, new byte[] {'{', (byte) 0xff, '}', ' '}, new byte[0]));
        assertRejected(file, "not valid UTF-8", "0xff", "offset 1");
    }

    @Test
    void headerWithByteOrderMark() {
        write(file, raw(5, new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'}, new byte[0]));
        assertRejected(file, "byte order mark");
    }

    @Test
    void headerNotJson() {
        header("{\"a\":{\"dtype\":", 0);
        assertRejected(file, "header is not valid JSON", "line 1");
    }

    @Test
    void headerDeeplyNested() {
        header("[".repeat(5000) + "]".repeat(5000), 0);
        assertRejected(file, "header is not valid JSON");
    }

    @Test
    void headerWithContentAfterTheObject() {
        header("{} {}", 0);
        assertRejected(file, "unexpected content after the JSON object");
    }

    @Test
    void headerEmptyOrBlank() {
        header("", 0);
        assertRejected(file, "header is empty");
        header("        ", 0);
        assertRejected(file, "header is empty");
    }

    @Test
    void headerNotAnObject() {
        header("[1,2]", 0);
        assertRejected(file, "header must be a JSON object", "array");
    }

    @Test
    void duplicateTensorKey() {
        header("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("a", "F32", "[2]", 8, 16) + "}", 16);
        assertRejected(file, "duplicate key 'a'", "top level");
    }

    @Test
    void duplicateFieldInsideATensorEntry() {
        tensorEntry("{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}");
        assertRejected(file, "duplicate key 'dtype'", "inside 'a'");
    }

    @Test
    void trailingSpacesAreAllowed() {
        write(file, raw(entryFile() + "        ", new byte[8]));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(1, f.tensors().size());
            assertEquals(entryFile().length() + 8, f.headerLength());
        }
    }

    private static String entryFile() {
        return "{" + entry("a", "F32", "[2]", 0, 8) + "}";
    }

    // ---- __metadata__

    @Test
    void metadataNotAnObject() {
        header("{\"__metadata__\":\"pt\"}", 0);
        assertRejected(file, "__metadata__ must be an object", "string");
    }

    @Test
    void metadataNull() {
        header("{\"__metadata__\":null}", 0);
        assertRejected(file, "__metadata__ must be an object", "null");
    }

    @Test
    void metadataValueNotAString() {
        header("{\"__metadata__\":{\"format\":\"pt\",\"epoch\":3}}", 0);
        assertRejected(file, "__metadata__ key 'epoch'", "string value", "number 3");
    }

    // ---- tensor entries

    @Test
    void entryNotAnObject() {
        tensorEntry("[0,8]");
        assertRejected(file, "tensor 'a'", "must be an object", "array");
    }

    @Test
    void entryMissingAField() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2]}");
        assertRejected(file, "tensor 'a'", "missing field 'data_offsets'");
    }

    @Test
    void entryWithUnknownFields() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"offsets\":[0,8],\"zz\":1}");
        assertRejected(file, "tensor 'a'", "unknown fields 'offsets', 'zz'");
    }

    @Test
    void dtypeNotAString() {
        tensorEntry("{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'dtype' must be a string", "number 4");
    }

    @Test
    void dtypeUnknown() {
        tensorEntry("{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'dtype' is 'F4'", "not a known safetensors dtype", "BF16");
    }

    @Test
    void dtypeNamesAreCaseSensitive() {
        tensorEntry("{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "'f32'");
    }

    @Test
    void shapeNotAnArray() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'shape' must be an array of non-negative integers", "number 2");
    }

    @Test
    void shapeWithANegativeDimension() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'shape' element 1", "-3");
    }

    @Test
    void shapeWithANonIntegerDimension() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'shape' element 0", "2.0");
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'shape' element 0", "string");
    }

    @Test
    void shapeDimensionBeyond64Bits() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "field 'shape' element 0", "does not fit in 64 bits");
    }

    @Test
    void shapeProductOverflows() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "more bytes than fit in 64 bits");
        // The element count fits, the byte count (x4) does not.
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}");
        assertRejected(file, "tensor 'a'", "more bytes than fit in 64 bits");
    }

    @Test
    void dataOffsetsNotAnArray() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":8}");
        assertRejected(file, "tensor 'a'", "field 'data_offsets' must be an array of exactly 2");
    }

    @Test
    void dataOffsetsWithWrongCount() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}");
        assertRejected(file, "tensor 'a'", "field 'data_offsets'", "exactly 2", "3 elements");
    }

    @Test
    void dataOffsetsNegative() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}");
        assertRejected(file, "tensor 'a'", "field 'data_offsets' element 0", "-8");
    }

    @Test
    void dataOffsetsBeginAfterEnd() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}");
        assertRejected(file, "tensor 'a'", "data_offsets [8, 0]", "begin 8 is after end 0");
    }

    @Test
    void dataOffsetsDisagreeWithShapeAndDtype() {
        header("{" + entry("a.b", "F32", "[2,3]", 0, 24) + "," + entry("model.norm.weight", "F16", "[4]", 24, 30) + "}",
                30);
        SafetensorsException e = assertRejected(file);
        assertEquals(file + ": tensor 'model.norm.weight': data_offsets [24, 30] give 6 bytes but F16 [4] needs 8",
                e.getMessage());
    }

    // ---- tiling of the data buffer

    @Test
    void firstTensorNotAtZero() {
        header("{" + entry("a", "F32", "[2]", 8, 16) + "}", 16);
        assertRejected(file, "tensor 'a'", "data_offsets [8, 16]", "first 8 bytes", "must begin at offset 0");
    }

    @Test
    void gapBetweenTensors() {
        header("{" + entry("b", "F32", "[2]", 16, 24) + "," + entry("a", "F32", "[2]", 0, 8) + "}", 24);
        assertRejected(file, "tensor 'b'", "gap of 8 bytes", "tensor 'a', which ends at 8");
    }

    @Test
    void overlappingTensors() {
        header("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12);
        assertRejected(file, "tensor 'b'", "overlap", "tensor 'a', which ends at 8");
    }

    @Test
    void twoTensorsOnTheSameBytes() {
        header("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 0, 8) + "}", 8);
        assertRejected(file, "tensor 'b'", "overlap", "tensor 'a'");
    }

    @Test
    void trailingBytesAfterTheData() {
        header(entryFile(), 11);
        assertRejected(file, "3 unexpected trailing bytes", "tensor 'a'");
    }

    @Test
    void dataBytesButNoTensors() {
        header("{}", 4);
        assertRejected(file, "4 unexpected trailing bytes", "declares no tensors");
    }

    @Test
    void truncatedData() {
        header(entryFile(), 5);
        assertRejected(file, "truncated", "tensor 'a' ends at data offset 8", "only 5 data bytes");
    }

    // ---- accepted edge cases

    @Test
    void emptyTensorsMaySharePositionsAndAnyDtypeIsReadable() {
        header("{" + entry("z", "F32", "[0]", 0, 0) + "," + entry("i", "I64", "[]", 0, 8) + ","
                + entry("e", "BF16", "[3,0]", 8, 8) + "," + entry("b", "BOOL", "[1]", 8, 9) + "}", 9);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("z", "i", "e", "b"), List.copyOf(f.tensors().keySet()));
            assertEquals(DType.I64, f.tensors().get("i").dtype());
            assertEquals(0, f.tensors().get("e").byteSize());
            assertEquals(Map.of(), f.metadata());
        }
    }

    @Test
    void controlCharactersInNamesAreEscapedInMessages() {
        header("{\"evil\\u001b[2J\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
        SafetensorsException e = assertRejected(file, "tensor 'evil\\u001b[2J'");
        assertEquals(-1, e.getMessage().indexOf('\u001b'));
    }

    @Test
    void hugeValuesAreAbbreviatedInMessages() {
        tensorEntry("{\"dtype\":\"F32\",\"shape\":[[" + "1,".repeat(100_000) + "1]],\"data_offsets\":[0,8]}");
        SafetensorsException e = assertRejected(file, "tensor 'a'", "field 'shape' element 0", "array [1,1,1", "...");
        assertTrue(e.getMessage().length() < file.toString().length() + 200, e.getMessage());
        tensorEntry("{\"dtype\":\"" + "F".repeat(100_000) + "\",\"shape\":[2],\"data_offsets\":[0,8]}");
        e = assertRejected(file, "tensor 'a'", "field 'dtype' is 'FFFF", "chars)");
        assertTrue(e.getMessage().length() < file.toString().length() + 500, e.getMessage());
    }

    @Test
    void missingFileAndDirectory() throws Exception {
        assertRejected(dir.resolve("absent.safetensors"), "no such file");
        Path sub = Files.createDirectory(dir.resolve("sub.safetensors"));
        assertRejected(sub, "is a directory");
    }
}
