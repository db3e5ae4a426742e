import java.io.*;
public class ToString {
  public static void main(String[] a) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in), 1<<20);
    PrintWriter w = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out), 1<<20));
    String line;
    while ((line = r.readLine()) != null) {
      long bits = Long.parseUnsignedLong(line.trim(), 16);
      w.print(line.trim()); w.print(' '); w.println(Double.toString(Double.longBitsToDouble(bits)));
    }
    w.flush();
  }
}
