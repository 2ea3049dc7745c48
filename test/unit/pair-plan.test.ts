import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { TwoWayMapping } from '../../src/config/two-way.js';
import { editedSinceAgreed, planCreate, planPair, type SideRecord } from '../../src/processors/pair-plan.js';

const YAML = `
version: 1
objects:
  contacts:
    object_type: contacts
    primary_key: hs_object_id
    modified_property: lastmodifieddate
    fields:
      email: { type: email }
      jobtitle: { type: string }
      city: { type: string }
      tier: { property: tier, type: enumeration }
      optout: { property: hs_email_optout, type: boolean }
      modified_at: { property: lastmodifieddate, type: datetime }
    dynamics:
      entity_set: contacts
      primary_key: contactid
      fields:
        email: { property: emailaddress1, type: email }
        jobtitle: { type: string }
        city: { property: address1_city, type: string }
        tier: { property: new_tier, type: integer }
        optout: { property: donotbulkemail, type: boolean }
        modified_at: { property: modifiedon, type: datetime }
    two_way:
      match: { hubspot: email, dynamics: emailaddress1 }
      create: both
      defaults: { direction: both, merge: overwrite, conflict: most_recent }
      fields:
        city: { conflict: manual }
        tier: { values: { GOLD: 1, SILVER: 2 } }
        optout: { direction: hubspot_to_dynamics }
`;
const twoWay = parseConfig(YAML, 'mappings.yaml').objects.get('contacts')!.twoWay as TwoWayMapping;
const hubspot = (fields: Record<string, unknown>): SideRecord => ({ id: 'h1', fields, modifiedAt: '2026-01-01T00:00:00.000Z' });
const dynamics = (fields: Record<string, unknown>, modifiedAt = '2026-01-02T00:00:00.000Z'): SideRecord => ({ id: 'd1', fields, modifiedAt });
const base = (values: Record<string, unknown>) => new Map(Object.entries(values)) as Map<string, never>;

describe('planning a linked pair', () => {
  test('one side changed: one write to the other with the value in its own form, and the old value for the audit', () => {
    const plan = planPair(twoWay, {
      hubspot: hubspot({ email: 'ada@x.com', jobtitle: 'CTO', tier: 'GOLD', optout: false }),
      dynamics: dynamics({ email: 'ADA@x.com', jobtitle: 'Engineer', tier: 1, optout: false }),
      base: base({ email: 'ada@x.com', jobtitle: 'Engineer', tier: 'GOLD', optout: false }),
    });
    expect(plan.writes).toEqual({ dynamics: { properties: { jobtitle: 'CTO' }, agreed: { jobtitle: 'CTO' }, previous: { jobtitle: 'Engineer' } } });
    // Field states already holding the agreed value are not written again.
    expect(plan.agreed).toEqual({ city: null });
    expect(plan.opened).toEqual([]);
  });

  test('a manual field changed on both sides opens a conflict and writes nothing for it; other fields still sync', () => {
    const plan = planPair(twoWay, {
      hubspot: hubspot({ email: 'ada@x.com', city: 'Paris', tier: 'SILVER' }),
      dynamics: dynamics({ email: 'ada@x.com', city: 'Lyon', tier: 1 }),
      base: base({ email: 'ada@x.com', city: 'Nice', tier: 'GOLD' }),
    });
    expect(plan.opened).toEqual([{ field: 'city', base: 'Nice', hubspot: 'Paris', dynamics: 'Lyon', hubspotChangedAt: null, dynamicsChangedAt: '2026-01-02T00:00:00.000Z' }]);
    expect(plan.writes).toEqual({ dynamics: { properties: { new_tier: 2 }, agreed: { tier: 'SILVER' }, previous: { new_tier: 1 } } });
  });

  test('most_recent without HubSpot change times asks for them; with them, the later change wins', () => {
    const input = {
      hubspot: hubspot({ email: 'ada@x.com', jobtitle: 'CTO' }),
      dynamics: dynamics({ email: 'ada@x.com', jobtitle: 'CEO' }),
      base: base({ email: 'ada@x.com', jobtitle: 'Engineer' }),
    };
    expect(planPair(twoWay, input).needsTimes).toBe(true);
    const later = planPair(twoWay, { ...input, hubspotTimes: { jobtitle: '2026-01-03T00:00:00.000Z' } });
    expect(later.needsTimes).toBe(false);
    expect(later.writes.dynamics?.properties).toEqual({ jobtitle: 'CTO' });
    const earlier = planPair(twoWay, { ...input, hubspotTimes: { jobtitle: '2026-01-01T12:00:00.000Z' } });
    expect(earlier.writes.hubspot?.properties).toEqual({ jobtitle: 'CEO' });
  });

  test('an open conflict whose sides agree again is settled', () => {
    const plan = planPair(twoWay, {
      hubspot: hubspot({ city: 'Paris' }),
      dynamics: dynamics({ city: 'Paris' }),
      base: base({ city: 'Nice' }),
      openConflicts: new Set(['city']),
    });
    expect(plan.settled).toEqual(['city']);
    expect(plan.agreed.city).toBe('Paris');
  });

  test('a resolution writes the chosen value where it is missing, whatever the direction, and closes the conflict', () => {
    const sides = { hubspot: hubspot({ city: 'Paris' }), dynamics: dynamics({ city: 'Lyon' }), base: base({ city: 'Nice' }) };
    const useDynamics = planPair(twoWay, { ...sides, resolutions: new Map([['city', { conflictId: 7, use: 'dynamics' as const }]]) });
    expect(useDynamics.applied).toEqual([7]);
    expect(useDynamics.writes).toEqual({ hubspot: { properties: { city: 'Lyon' }, agreed: { city: 'Lyon' }, previous: { city: 'Paris' } } });
    const byValue = planPair(twoWay, { ...sides, resolutions: new Map([['city', { conflictId: 8, use: 'value' as const, value: 'Paris' }]]) });
    expect(byValue.writes).toEqual({ dynamics: { properties: { address1_city: 'Paris' }, agreed: { city: 'Paris' }, previous: { address1_city: 'Lyon' } } });
  });

  test('an option with no counterpart is reported and not written', () => {
    const plan = planPair(twoWay, { hubspot: hubspot({ tier: 'GOLD' }), dynamics: dynamics({ tier: 9 }), base: base({ tier: 'GOLD' }) });
    expect(plan.writes).toEqual({});
    expect(plan.errors).toEqual([expect.stringContaining('Dataverse value 9 has no HubSpot option')]);
  });
});

describe('planning a twin', () => {
  test('a Dynamics 365 row becomes a HubSpot create of every field allowed that way, empty fields agreed empty', () => {
    const { write, errors } = planCreate(twoWay, 'dynamics', dynamics({ email: 'Ada@X.com', jobtitle: 'CTO', tier: 2, optout: true }));
    expect(errors).toEqual([]);
    // The opt-out travels only from HubSpot: it is left out, and no agreement is recorded for it.
    expect(write.properties).toEqual({ email: 'ada@x.com', jobtitle: 'CTO', tier: 'SILVER' });
    expect(write.agreed).toEqual({ email: 'ada@x.com', jobtitle: 'CTO', tier: 'SILVER', city: null });
  });
});

describe('edited since the pair agreed', () => {
  test('a value other than the agreed one, in any agreed field, is an edit; formatting and fields never agreed are not', () => {
    const agreed = base({ email: 'ada@x.com', tier: 'GOLD' });
    expect(editedSinceAgreed(twoWay, 'dynamics', dynamics({ email: ' ADA@x.com', tier: 1, jobtitle: 'New' }), agreed)).toBe(false);
    expect(editedSinceAgreed(twoWay, 'dynamics', dynamics({ email: 'ada@x.com', tier: 2 }), agreed)).toBe(true);
    expect(editedSinceAgreed(twoWay, 'hubspot', hubspot({ email: 'grace@x.com', tier: 'GOLD' }), agreed)).toBe(true);
  });
});
