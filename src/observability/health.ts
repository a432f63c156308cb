/**
 * Liveness and readiness, as /healthz and /readyz report them. The process is live while it
 * runs; it is ready once its listeners are bound and a policy is loaded, and stops being ready
 * for good when it starts draining, so the load balancer takes it out of rotation while live
 * connections finish.
 */

export interface HealthStatus {
  ready: boolean;
  /** Why not ready ("starting", "draining", "no policy loaded", …); null when ready. */
  reason: string | null;
}

export class Health {
  private isReady = false;
  private why: string | null = "starting";
  private drainingStarted = false;

  /**
   * Sets readiness. `reason` says why not ready (default "not ready"); it is ignored when
   * ready. Once `draining()` was called, the instance stays not ready: a reload that completes
   * during the drain must not put it back into rotation.
   */
  setReady(ready: boolean, reason?: string): void {
    if (this.drainingStarted) return;
    this.isReady = ready;
    this.why = ready ? null : (reason ?? "not ready");
  }

  /** Not ready, reason "draining", for good. */
  draining(): void {
    this.drainingStarted = true;
    this.isReady = false;
    this.why = "draining";
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** True once `draining()` was called. */
  get isDraining(): boolean {
    return this.drainingStarted;
  }

  status(): HealthStatus {
    return { ready: this.isReady, reason: this.why };
  }
}
