package lab;

import java.io.FileOutputStream;
import java.io.IOException;

/** Writes an export file into a directory that may be full: IOException, ENOSPC. */
final class Export {
    private Export() {}

    static void write(String dir, int bytes) throws IOException {
        try (FileOutputStream out = new FileOutputStream(dir + "/export.csv")) {
            out.write(new byte[bytes]); // lab: export
        }
    }
}
