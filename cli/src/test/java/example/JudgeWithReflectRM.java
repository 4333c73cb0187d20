package example;

import java.nio.file.Path;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.OrderJudgment;
import org.reflectrm.api.Pair;
import org.reflectrm.api.ReflectRM;

/**
 * The README's example of the Java API, compiled and run by the build (JavaApiTest): judges one
 * pair with the model folder given as the first argument.
 */
public final class JudgeWithReflectRM {
    private JudgeWithReflectRM() {
    }

    public static void main(String[] args) {
        // README-START
        try (ReflectRM rm = ReflectRM.builder(Path.of(args[0])).device("auto").open()) {
            Pair pair = Pair.of("What is 9-3?", "6", "7");
            Judgment j = rm.judge(pair, JudgeOptions.defaults());
            System.out.println("verdict: " + j.verdict() + " (" + j.status() + ")");
            OrderJudgment ab = j.orders().getFirst();
            if (ab.anchor() != null) {
                System.out.println("anchor: " + ab.rollouts().get(ab.anchor()).text());
            }
        }
        // README-END
    }
}
