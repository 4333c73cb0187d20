package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.ChatTemplateException;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j chat-template}: the prompt string a chat becomes. */
@Command(name = "chat-template", mixinStandardHelpOptions = true,
        description = {"Print the prompt a chat renders to with the tokenizer's Qwen3 chat template, exactly as "
                + "transformers' apply_chat_template(messages, add_generation_prompt=True, enable_thinking=...) "
                + "renders it: the string itself, with no newline added.",
                "FILE.json holds a list of {\"role\": system|user|assistant|tool, \"content\": ...} objects; "
                        + "assistant messages may carry \"reasoning_content\" and \"tool_calls\". "
                        + "The generation prompt (<|im_start|>assistant) is always added."})
final class ChatTemplateCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "Folder with tokenizer.json and tokenizer_config.json (which holds the chat template), e.g. a model folder.")
    Path tokenizerPath;

    @Option(names = "--messages", required = true, paramLabel = "FILE.json", description = "The chat ('-': stdin).")
    String messagesFile;

    @Option(names = "--no-thinking", description = "enable_thinking=False: the prompt ends with an empty <think></think> block.")
    boolean noThinking;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        boolean stdin = messagesFile.equals("-");
        String name = stdin ? "<stdin>" : messagesFile;
        byte[] bytes;
        if (stdin) {
            bytes = main.stdin().readAllBytes();
        } else {
            if (Files.isDirectory(Path.of(messagesFile))) {
                throw new BadInputException("--messages: " + messagesFile + " is a directory, not a JSON file");
            }
            try {
                bytes = Files.readAllBytes(Path.of(messagesFile));
            } catch (NoSuchFileException e) {
                throw new BadInputException("--messages: " + messagesFile + ": no such file", e);
            }
        }
        List<ChatMessage> messages = ChatMessagesFile.parse(bytes, name);
        Tokenizer tokenizer = TokenizerFiles.load(tokenizerPath, "--tokenizer");
        Qwen3ChatTemplate template = TokenizerFiles.chatTemplate(tokenizer, tokenizerPath);
        String rendered;
        try {
            rendered = template.render(messages, true, !noThinking);
        } catch (ChatTemplateException e) {
            throw new BadInputException(name + ": " + e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(rendered);
        out.flush();
        return 0;
    }
}
