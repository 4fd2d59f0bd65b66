// Voice messages: records with MediaRecorder (the browser's own encoder, usually Opus in WebM or
// Ogg) and hands the recording to the controller, which sends it to SpeechService.SubmitAudio.
// While recording it shows the elapsed time (also as data-seconds, whole seconds recorded).
// Hidden where the browser cannot record.

import { useEffect, useRef, useState } from "react";

import { IconButton } from "./icons";

const MAX_RECORDING_MS = 120_000;
const MIC = "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3";
const STOP = "M7 7h10v10H7z";

export function canRecord(): boolean {
  return typeof MediaRecorder !== "undefined" && !!navigator.mediaDevices?.getUserMedia;
}

export function Recorder({ onRecorded }: { onRecorded: (audio: Blob) => void }) {
  const [recording, setRecording] = useState(false);
  const [seconds, setSeconds] = useState(0);
  const [problem, setProblem] = useState("");
  const recorder = useRef<MediaRecorder | null>(null);
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);
  const clear = () => { timers.current.forEach(clearTimeout); timers.current = []; };

  useEffect(() => () => {
    clear();
    if (recorder.current?.state === "recording") recorder.current.stop();
  }, []);

  if (!canRecord()) return null;

  const start = async () => {
    setProblem("");
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      setProblem("Microphone not available");
      return;
    }
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t));
    const rec = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    rec.onstart = () => {
      // the time recorded so far, counted from when the recorder really started
      const began = Date.now();
      timers.current.push(setInterval(() => setSeconds(Math.floor((Date.now() - began) / 1000)), 250));
    };
    rec.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      clear();
      setRecording(false);
      setSeconds(0);
      const blob = new Blob(chunks, { type: rec.mimeType || type || "audio/webm" });
      if (blob.size) onRecorded(blob);
    };
    recorder.current = rec;
    rec.start();
    setRecording(true);
    timers.current.push(setTimeout(() => rec.state === "recording" && rec.stop(), MAX_RECORDING_MS));
  };

  return (
    <>
      {recording && (
        <span data-testid="fd-recording" data-seconds={seconds} role="timer" aria-label="Recording time"
              className="self-center text-xs text-red-700 tabular-nums">
          {Math.floor(seconds / 60)}:{String(seconds % 60).padStart(2, "0")}
        </span>
      )}
      <IconButton label={recording ? "Stop recording and send" : "Record a voice message"} testid="fd-record"
                  pressed={recording} d={recording ? STOP : MIC}
                  onClick={() => (recording ? recorder.current?.stop() : void start())} />
      {problem && <span role="alert" className="sr-only">{problem}</span>}
      {recording && <span role="status" className="sr-only">Recording…</span>}
    </>
  );
}
